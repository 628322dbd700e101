/**
 * `npm run export` as a process (the compiled CLI: `npm test` builds first) against a running
 * stack whose rate limit allows each subject 4 requests a window: each page of an export is one
 * request, so an export of 6 pages stops after its fourth with the cursor saved, and `--resume`
 * (with a fresh budget) finishes the same file with no row twice and none missing. Misuse exits 2,
 * a failure 1, each with a message.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { signToken } from '../gateway/src/auth';
import { fromRoot } from '../lib/root';
import { STACK_JWT_SECRET, startPatientGraph } from './stack';
import type { PatientGraphStack } from './stack';

const CLI = fromRoot('dist/lib/stack/export-cli.js');
const QUERY = 'query Care { patients(first: 10) { nodes { id status dataQuality { score issues } invoices { id total } } } }';
const tokenOf = (subject: string) => signToken(STACK_JWT_SECRET, { subject, roles: ['clinician', 'admin', 'finance'], clinic: 'test' });

let dir: string;
let stack: PatientGraphStack;
let queryFile: string;
/** The patients, paged by hand through POST /graphql. */
let paged: any[];

function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it first)`);
  const env: NodeJS.ProcessEnv = { ...process.env, DEV_AUTH_FILE: path.join(dir, 'absent.json') };
  delete env.AUTH_JWT_SECRET;
  delete env.PATIENT_GRAPH_TOKEN;
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'export-cli-'));
  queryFile = path.join(dir, 'care.graphql');
  fs.writeFileSync(queryFile, QUERY);
  stack = await startPatientGraph({ patients: 60, gatewayEnv: { RATE_LIMIT_PER_SUBJECT: '4', RATE_LIMIT_WINDOW_SECONDS: '600' } });
  paged = [];
  for (let after: string | null = null, n = 0; ; n++) {
    const answer: { data?: any; errors?: any[] } = await stack.query(
      'query($after: String) { patients(first: 30, after: $after) { pageInfo { hasNextPage endCursor } nodes { id status dataQuality { score issues } invoices { id total } } } }',
      { after },
      { token: tokenOf(`oracle-${n}`) },
    );
    expect(answer.errors).toBeUndefined();
    paged.push(...answer.data.patients.nodes);
    if (!answer.data.patients.pageInfo.hasNextPage) break;
    after = answer.data.patients.pageInfo.endCursor;
  }
  expect(paged).toHaveLength(60);
});
afterAll(async () => {
  await stack?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The CSV records of `paged`, by hand: lists are JSON cells, quoted because they hold quotes and commas. */
const quote = (cell: string) => (/[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell);
const csvOf = (patients: any[]) =>
  'id,status,dataQuality.score,dataQuality.issues,invoices\r\n' +
  patients.map((p) => [p.id, p.status, String(p.dataQuality.score), JSON.stringify(p.dataQuality.issues), JSON.stringify(p.invoices)].map(quote).join(',') + '\r\n').join('');

it('exports to NDJSON within one budget: exit 0, every patient once, in order', async () => {
  const out = path.join(dir, 'all.ndjson');
  const { code, stderr } = await runCli(['--query', queryFile, '--out', out, '--url', stack.gateway.url, '--token', tokenOf('ndjson-cli'), '--page-size', '30']);
  expect({ code, stderr: stderr.trim().split('\n').at(-1) }).toEqual({ code: 0, stderr: expect.stringMatching(/^exported 60 rows to .* rows\/s\)$/) });
  expect(fs.readFileSync(out, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line))).toEqual(paged);
});

it('stops when a page is refused (exit 1, saying --resume), and --resume finishes the CSV without a row twice or a gap', async () => {
  const out = path.join(dir, 'care.csv');
  const first = await runCli(['--query', queryFile, '--format', 'csv', '--out', out, '--url', stack.gateway.url, '--token', tokenOf('cli-1'), '--page-size', '10']);
  expect(first.code).toBe(1);
  expect(first.stderr).toMatch(/stopped after 40 rows: .*RATE_LIMITED.*--resume/s);
  expect(fs.readFileSync(out, 'utf8')).toBe(csvOf(paged.slice(0, 40)));
  // Half a page left behind by a crash is cut away on resume.
  fs.appendFileSync(out, 'half-a-row,');
  const resumed = await runCli(['--query', queryFile, '--format', 'csv', '--out', out, '--url', stack.gateway.url, '--token', tokenOf('cli-2'), '--page-size', '10', '--resume']);
  expect(resumed.code).toBe(0);
  expect(fs.readFileSync(out, 'utf8')).toBe(csvOf(paged));
  const again = await runCli(['--query', queryFile, '--format', 'csv', '--out', out, '--url', stack.gateway.url, '--token', tokenOf('cli-3'), '--resume']);
  expect(again).toEqual({ code: 0, stderr: expect.stringContaining('complete already (60 rows)') });
});

it('exits 2 on misuse, naming the option, and 1 when the gateway refuses or cannot be reached', async () => {
  const out = path.join(dir, 'x.csv');
  const usage = [
    [['--out', out], /--query/],
    [['--query', path.join(dir, 'missing.graphql'), '--out', out], /--query: expected a readable \.graphql file/],
    [['--query', queryFile, '--out', out, '--variables', '{nope'], /--variables.*expected a JSON object/],
    [['--query', queryFile, '--out', out, '--format', 'xml'], /--format/],
    [['--query', queryFile, '--out', path.join(dir, 'never.csv'), '--resume', '--token', 't'], /--resume: expected .*never\.csv\.export-state\.json/],
    [['--query', queryFile, '--out', out], /No token: expected --token/],
  ] as const;
  for (const [args, message] of usage) {
    const { code, stderr } = await runCli([...args, '--url', stack.gateway.url]);
    expect({ args, code, message: message.test(stderr) }).toEqual({ args, code: 2, message: true });
  }
  const refused = await runCli(['--query', queryFile, '--out', out, '--url', stack.gateway.url, '--token', 'not-a-token']);
  expect(refused).toEqual({ code: 1, stderr: expect.stringContaining('HTTP 401') });
  const unreachable = await runCli(['--query', queryFile, '--out', out, '--url', 'http://127.0.0.1:9', '--token', tokenOf('nobody-home')]);
  expect(unreachable).toEqual({ code: 1, stderr: expect.stringContaining('Could not reach the gateway') });
});

describe('a page refused once the stream has begun (the wire, without the CLI)', () => {
  const body = (format: string) => JSON.stringify({ query: QUERY, format, pageSize: 10 });

  it('ends an NDJSON export with an @error line naming the cursor to resume from', async () => {
    const response = await fetch(`${stack.gateway.url}/export`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenOf('wire-ndjson')}` },
      body: body('ndjson'),
    });
    expect(response.status).toBe(200);
    const lines = (await response.text()).trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines.slice(0, 40)).toEqual(paged.slice(0, 40));
    expect(lines).toHaveLength(41);
    const error = lines[40]['@error'];
    expect(error).toMatchObject({ code: 'EXPORT_PAGE_FAILED', status: 429, rows: 40, retryAfterSeconds: expect.any(Number) });
    expect(error.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'subject' });
    // Its cursor starts the rest exactly after the 40th patient.
    const rest = await fetch(`${stack.gateway.url}/export`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenOf('wire-ndjson-2')}` },
      body: JSON.stringify({ query: QUERY, pageSize: 10, after: error.after }),
    });
    expect((await rest.text()).trimEnd().split('\n').map((line) => JSON.parse(line))).toEqual(paged.slice(40));
  });

  it('cuts a CSV export short, which the client sees as a broken body, never a clean end', async () => {
    // Node's http client, not fetch: a WHATWG stream that errors drops the chunks not yet read.
    const answer = await new Promise<{ status: number; encoding?: string; raw: Buffer; complete: boolean }>((resolve, reject) => {
      const req = http.request(`${stack.gateway.url}/export`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip', authorization: `Bearer ${tokenOf('wire-csv')}` },
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', () => undefined);
        res.on('close', () => resolve({ status: res.statusCode!, encoding: res.headers['content-encoding'], raw: Buffer.concat(chunks), complete: res.complete }));
      });
      req.on('error', reject);
      req.end(body('csv'));
    });
    expect(answer).toMatchObject({ status: 200, encoding: 'gzip', complete: false });
    // Everything written before the failure arrived (the compressed pages too), and nothing after.
    expect(zlib.gunzipSync(answer.raw, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString('utf8')).toBe(csvOf(paged.slice(0, 40)));
  });
});
