/**
 * The bulk export (/export) through the real stack: all 500 patients with the README's overview
 * selection, as NDJSON and as CSV, equal what paging POST /graphql by hand gives; a resumed export
 * continues exactly after its cursor; a role sees what its query would show; each page is a
 * request of its own to the rate limits and the audit trail; bad requests are told what was
 * expected. The oracles (the paging, the CSV columns and cells, the CSV parser) are written here.
 */
import http from 'node:http';
import zlib from 'node:zlib';
import { signToken } from '../gateway/src/auth';
import { waitFor } from '../lib/event-bus/test/wait-for';
import { STACK_JWT_SECRET, startPatientGraph } from './stack';
import type { PatientGraphStack } from './stack';

/** The README's "A query to try", as it is written there. */
const OVERVIEW = `query PatientOverview {
  patients(first: 3) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id fullName dateOfBirth email nhsNumber
      phones { number e164 }
      dataQuality { score issues route }
      appointments { id start end status practitioner { fullName } calendarEvent { id status } }
      invoices { id total outstanding payments { id status amountMinor currency } }
      crmContact { id lifecycleStage marketingConsent }
      deals { id stage amount }
      payments { id provider status amountMinor currency }
      subscriptions { id status plan }
    }
  }
}`;
const NODE_SELECTION = OVERVIEW.slice(OVERVIEW.indexOf('nodes {') + 'nodes '.length, OVERVIEW.lastIndexOf('}', OVERVIEW.lastIndexOf('}') - 1));
const PAGE = `query Page($after: String) { patients(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes ${NODE_SELECTION} } }`;

/** Every subject has its own cost budget: each part of the test spends its own. */
const tokenOf = (subject: string, roles: string[] = ['clinician', 'admin', 'marketing', 'finance']) => signToken(STACK_JWT_SECRET, { subject, roles, clinic: 'test' });

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body as sent (compressed when it was). */
  raw: Buffer;
  /** The body, decompressed. */
  text: string;
  /** The response ended cleanly (not cut short). */
  complete: boolean;
}

/** One HTTP request without any client that decompresses or parses for us. */
function request(url: string, options: { method?: string; body?: unknown; headers?: Record<string, string> }): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = http.request(url, { method: options.method ?? 'POST', headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      let complete = false;
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => (complete = true));
      res.on('close', () => {
        const raw = Buffer.concat(chunks);
        const text = res.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(raw, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString('utf8') : raw.toString('utf8');
        resolve({ status: res.statusCode!, headers: res.headers, raw, text, complete });
      });
      res.on('error', () => undefined);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** RFC 4180, written for this test: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') record.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field), records.push(record), (record = []), (field = ''), i++;
    } else field += c;
  }
  if (field !== '' || record.length > 0) record.push(field), records.push(record);
  return records;
}

/** The overview's CSV columns, by hand: nested objects spread into dotted leaves, lists one cell each. */
const COLUMNS = [
  'id', 'fullName', 'dateOfBirth', 'email', 'nhsNumber', 'phones',
  'dataQuality.score', 'dataQuality.issues', 'dataQuality.route',
  'appointments', 'invoices', 'crmContact.id', 'crmContact.lifecycleStage', 'crmContact.marketingConsent',
  'deals', 'payments', 'subscriptions',
];
const cellOf = (value: unknown) => (value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value));
const rowOf = (node: any) => COLUMNS.map((column) => cellOf(column.split('.').reduce((v: any, key) => (v == null ? undefined : v[key]), node)));

const lines = (text: string) => text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line));

describe('the bulk export', () => {
  let stack: PatientGraphStack;
  let exportUrl: string;
  /** Every patient's overview, paged through POST /graphql by hand. */
  let paged: any[];

  beforeAll(async () => {
    stack = await startPatientGraph();
    exportUrl = `${stack.gateway.url}/export`;
    paged = [];
    let after: string | null = null;
    const token = tokenOf('oracle');
    for (;;) {
      const answer: { data?: any; errors?: any[] } = await stack.query(PAGE, { after }, { token });
      expect(answer.errors).toBeUndefined();
      paged.push(...answer.data.patients.nodes);
      if (!answer.data.patients.pageInfo.hasNextPage) break;
      after = answer.data.patients.pageInfo.endCursor;
    }
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('pages by hand to all 500 patients (the oracle itself)', () => {
    expect(paged).toHaveLength(500);
    expect(new Set(paged.map((p) => p.id)).size).toBe(500);
  });

  it('exports all 500 patients with the overview selection as NDJSON, gzip-compressed, equal to paging by hand', async () => {
    const answer = await request(exportUrl, {
      body: { query: OVERVIEW, format: 'ndjson', pageSize: 100 },
      headers: { authorization: `Bearer ${tokenOf('ndjson')}`, 'accept-encoding': 'gzip' },
    });
    expect(answer.status).toBe(200);
    expect(answer.complete).toBe(true);
    expect(answer.headers['content-type']).toMatch(/^application\/x-ndjson/);
    expect(answer.headers['content-encoding']).toBe('gzip');
    expect(answer.headers['x-export-total-count']).toBe('500');
    expect(answer.raw.length).toBeLessThan(answer.text.length / 3);
    expect(lines(answer.text)).toEqual(paged);
  });

  it('exports the same as CSV: one column per leaf path, lists as JSON cells, RFC 4180 quoting', async () => {
    const answer = await request(exportUrl, {
      body: { query: OVERVIEW, format: 'csv', pageSize: 200 },
      headers: { authorization: `Bearer ${tokenOf('csv')}` },
    });
    expect(answer.status).toBe(200);
    expect(answer.complete).toBe(true);
    expect(answer.headers['content-encoding']).toBeUndefined();
    expect(answer.headers['content-type']).toMatch(/^text\/csv/);
    expect(answer.headers['content-disposition']).toBe('attachment; filename="PatientOverview.csv"');
    const [header, ...rows] = parseCsv(answer.text);
    expect(header).toEqual(COLUMNS);
    expect(rows).toEqual(paged.map(rowOf));
    // The seed's data needs the quoting: cells with commas and quotes came back whole.
    expect(rows.some((row) => row.some((cell) => cell.includes('"') && cell.includes(',')))).toBe(true);
  });

  it('serves the same export to a GET with the parameters in the query string (as Power BI sends it)', async () => {
    const query = new URLSearchParams({ query: OVERVIEW, format: 'csv', pageSize: '250' });
    const answer = await request(`${exportUrl}?${query}`, { method: 'GET', headers: { authorization: `Bearer ${tokenOf('get')}` } });
    expect(answer.status).toBe(200);
    expect(parseCsv(answer.text).slice(1)).toEqual(paged.map(rowOf));
  });

  it('resumes after a checkpoint cursor exactly where it stopped: no row twice, none missing', async () => {
    const first = await request(exportUrl, {
      body: { query: OVERVIEW, checkpoints: true, pageSize: 70 },
      headers: { authorization: `Bearer ${tokenOf('resume-1')}` },
    });
    const all = lines(first.text);
    expect(all[0]['@export']).toEqual({ columns: COLUMNS, totalCount: 500 });
    const checkpoints = all.filter((line) => line['@checkpoint']).map((line) => line['@checkpoint']);
    expect(checkpoints.map((c) => c.rows)).toEqual([70, 140, 210, 280, 350, 420, 490, 500]);
    expect(checkpoints.at(-1).hasNextPage).toBe(false);
    // As if the connection dropped after the third page: what the client kept, then the rest.
    const kept = all.slice(1, 1 + 3 * 71).filter((line) => !line['@checkpoint']);
    expect(kept).toHaveLength(210);
    const rest = await request(exportUrl, {
      body: { query: OVERVIEW, pageSize: 70, after: checkpoints[2].after },
      headers: { authorization: `Bearer ${tokenOf('resume-2')}` },
    });
    expect(rest.status).toBe(200);
    expect([...kept, ...lines(rest.text)]).toEqual(paged);
  });

  it('shows a role what its own query shows: an analyst gets the direct identifiers withheld (null), named in a header', async () => {
    const analyst = tokenOf('analyst-1', ['analyst']);
    const byHand = await stack.query(PAGE, { after: null }, { token: analyst });
    expect(byHand.errors?.every((e: any) => e.extensions.code === 'UNAUTHORIZED_FIELD_OR_TYPE')).toBe(true);
    const answer = await request(exportUrl, { body: { query: OVERVIEW, pageSize: 100 }, headers: { authorization: `Bearer ${analyst}` } });
    expect(answer.status).toBe(200);
    const exported = lines(answer.text);
    expect(exported).toHaveLength(500);
    expect(exported.slice(0, 100)).toEqual(byHand.data.patients.nodes);
    expect(exported.every((p: any) => p.fullName === null && p.email === null && p.nhsNumber === null && p.dateOfBirth === null)).toBe(true);
    expect(exported.some((p: any) => p.invoices.length > 0)).toBe(true);
    expect(String(answer.headers['x-export-withheld-fields']).split(',').sort()).toEqual(expect.arrayContaining(['fullName', 'email', 'nhsNumber', 'dateOfBirth']));
  });

  it('refuses a paged field the role may not see, as its query is refused', async () => {
    const finance = tokenOf('finance-1', ['finance']);
    const CONFLICTS = 'query { conflicts(first: 10) { nodes { id } } }';
    const byHand = await stack.query(CONFLICTS, {}, { token: finance });
    expect(byHand.data?.conflicts ?? null).toBeNull();
    const answer = await request(exportUrl, { body: { query: CONFLICTS }, headers: { authorization: `Bearer ${finance}` } });
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.text).errors.map((e: any) => e.extensions.code)).toEqual(byHand.errors!.map((e: any) => e.extensions.code));
  });

  it('writes one audit record per page, as for one query per page', async () => {
    const subject = 'audited-exporter';
    const answer = await request(exportUrl, { body: { query: OVERVIEW, pageSize: 125 }, headers: { authorization: `Bearer ${tokenOf(subject)}` } });
    expect(answer.status).toBe(200);
    const admin = tokenOf('auditor', ['admin']);
    let records: any[] = [];
    await waitFor('four audit records', async () => {
      const read = await stack.query('query($s: String) { auditRecords(subject: $s, first: 50) { nodes { subject transport patientIds operationName } } }', { s: subject }, { token: admin });
      records = read.data?.auditRecords?.nodes ?? [];
      return records.length >= 4;
    });
    expect(records).toHaveLength(4);
    expect(records.flatMap((r) => r.patientIds).sort()).toEqual(paged.map((p) => p.id).sort());
  });

  it('answers a bad request with 400 and a stable code naming what was expected', async () => {
    const auth = { authorization: `Bearer ${tokenOf('bad-requests')}` };
    const cases: Array<[unknown, string, string]> = [
      [{ query: 'query($id: ID!) { patient(id: $id) { id } }', variables: { id: '1' } }, 'EXPORT_UNSUPPORTED_QUERY', 'query'],
      [{ query: '{ patients(first: 5) { totalCount } }' }, 'EXPORT_UNSUPPORTED_QUERY', 'query'],
      [{ query: '{ patients { nodes { id } } practitioners { id } }' }, 'EXPORT_UNSUPPORTED_QUERY', 'query'],
      [{ query: 'mutation { resolveConflict(id: "1", resolution: KEEP_SEMBLE) { id } }' }, 'EXPORT_UNSUPPORTED_QUERY', 'query'],
      [{ query: '{ patients { nodes { id } }' }, 'EXPORT_UNSUPPORTED_QUERY', 'query'],
      [{ query: OVERVIEW, format: 'xml' }, 'BAD_EXPORT_REQUEST', 'format'],
      [{ query: OVERVIEW, pageSize: 501 }, 'BAD_EXPORT_REQUEST', 'pageSize'],
      [{ query: OVERVIEW, format: 'csv', checkpoints: true }, 'BAD_EXPORT_REQUEST', 'checkpoints'],
      [{ query: OVERVIEW, variables: [1] }, 'BAD_EXPORT_REQUEST', 'variables'],
      [{}, 'BAD_EXPORT_REQUEST', 'query'],
    ];
    for (const [body, code, field] of cases) {
      const answer = await request(exportUrl, { body, headers: auth });
      expect({ body, status: answer.status, code: JSON.parse(answer.text).errors[0].extensions.code, field: JSON.parse(answer.text).errors[0].extensions.field }).toEqual({
        body,
        status: 400,
        code,
        field,
      });
      expect(JSON.parse(answer.text).errors[0].extensions.expected).toEqual(expect.any(String));
    }
    const anonymous = await request(exportUrl, { body: { query: OVERVIEW } });
    expect(anonymous.status).toBe(401);
  });
});
