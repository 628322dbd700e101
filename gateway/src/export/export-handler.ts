/**
 * The bulk export: `POST /export` (or GET with the same parameters in the query string) streams
 * every item of a paged root field as NDJSON or CSV, one page at a time. Each page is one GraphQL
 * operation through the gateway's own request pipeline (`execute`: the same plugins, limits,
 * cost budget, authorisation masking and audit record as a POST /graphql), and each page after
 * the first is authenticated and counted as its own request (`authenticate`), so an export is
 * exactly the paging a client could do by hand, served in one response.
 *
 * With `checkpoints` (NDJSON), the stream opens with `{"@export": {"columns", "totalCount"?}}`:
 * the CSV columns of the selection and the connection's total, for a client (the CLI) that
 * writes CSV itself and shows progress.
 *
 * Memory is bounded by one page: a page is fetched, written with backpressure (a full socket is
 * waited for), flushed, and only then is the next one asked for. Resuming is by cursor: `after`
 * starts after it; with `checkpoints` an NDJSON line `{"@checkpoint": {"after", "rows",
 * "hasNextPage"}}` follows each page. A page that fails once the stream has begun ends it: NDJSON
 * with a last line `{"@error": {...}}` naming the cursor to resume from; CSV, which has no place
 * for it, by aborting the response (the client sees the body cut short, never a clean end).
 */
import type { Request, Response } from 'express';
import type { GraphQLFormattedError, GraphQLSchema } from 'graphql';
import type { Logger } from '../../../lib/logger';
import type { AuthIdentity } from '../auth';
import { UNAUTHORIZED_CODE } from '../authorization/mask';
import { ErrorCode, errorBody, httpStatusFor } from '../errors';
import type { LimitedAuthResult } from '../rate-limit/rate-limits';
import { rateLimitedError } from '../rate-limit/rate-limits';
import { createBodyWriter } from './body-writer';
import type { BodyWriter } from './body-writer';
import { csvColumns, csvHeader, csvRow } from './csv';
import { ExportPlanError, PAGE_INFO_KEY, TOTAL_COUNT_KEY, planExport } from './paged-field';
import type { ExportPlan } from './paged-field';
import { ExportRequestError, readExportRequest } from './request';
import type { ExportConfig, ExportRequest } from './request';

/** One page's answer as the pipeline gave it. */
export interface PageAnswer {
  /** Set when the pipeline refused the operation (400, 429, …). */
  status?: number;
  headers: Record<string, string>;
  data?: Record<string, unknown> | null;
  errors?: readonly GraphQLFormattedError[];
}

export interface ExportHandlerOptions {
  config: ExportConfig;
  /** The API schema being served; undefined until the supergraph is loaded. */
  schema: () => GraphQLSchema | undefined;
  /** Authenticates and counts a request, as /graphql's requests are: each page after the first is one. */
  authenticate: (req: Request) => Promise<LimitedAuthResult>;
  /** Runs one operation through the gateway's request pipeline for `auth`. */
  execute: (operation: { query: string; variables: Record<string, unknown>; operationName?: string }, auth: AuthIdentity, req: Request) => Promise<PageAnswer>;
  logger: Logger;
}

/** The types of the NDJSON stream's own lines: keys no GraphQL name can be (names start with a letter or `_`). */
export const START_KEY = '@export';
export const CHECKPOINT_KEY = '@checkpoint';
export const ERROR_KEY = '@error';

const CONTENT_TYPES = { ndjson: 'application/x-ndjson; charset=utf-8', csv: 'text/csv; charset=utf-8' } as const;

/** A page that cannot be written: what to answer (before the stream) or to report (in it). */
interface PageFailure {
  status: number;
  headers: Record<string, string>;
  errors: readonly GraphQLFormattedError[];
}

/** A field withheld by authorisation is answered as a query answers it (null); anything else fails the page. */
const isWithheld = (error: GraphQLFormattedError) => error.extensions?.code === UNAUTHORIZED_CODE;

export function createExportHandler(options: ExportHandlerOptions): (req: Request, res: Response) => Promise<void> {
  const { config, logger } = options;

  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'POST') {
      res.setHeader('Allow', 'GET, POST');
      res.status(405).json(errorBody(ErrorCode.BadRequest, 'An export is a GET or a POST'));
      return;
    }
    let request: ExportRequest;
    let plan: ExportPlan;
    try {
      const input = req.method === 'GET' ? (req.query as Record<string, unknown>) : ((req.body ?? {}) as Record<string, unknown>);
      if (typeof input !== 'object' || Array.isArray(input)) throw new ExportRequestError('body', 'a JSON object { query, variables?, format?, after?, pageSize? }', 'something else');
      request = readExportRequest(input, req.method === 'GET', config);
      const schema = options.schema();
      if (!schema) {
        res.status(httpStatusFor(ErrorCode.NotReady)).json(errorBody(ErrorCode.NotReady, 'The supergraph is not loaded yet'));
        return;
      }
      plan = planExport(schema, request.query, request.operationName);
      const taken = Object.values(plan.variables).find((name) => name in request.variables);
      if (taken) throw new ExportRequestError('variables', `no variable named ${taken} (the export's own)`, `"${taken}"`);
    } catch (error) {
      if (error instanceof ExportRequestError) {
        res.status(httpStatusFor(ErrorCode.BadExportRequest)).json(errorBody(ErrorCode.BadExportRequest, error.message, { field: error.field, expected: error.expected }));
        return;
      }
      if (error instanceof ExportPlanError) {
        res.status(httpStatusFor(ErrorCode.ExportUnsupportedQuery)).json(errorBody(ErrorCode.ExportUnsupportedQuery, error.message, { field: 'query', expected: error.expected }));
        return;
      }
      throw error;
    }

    const columns = request.format === 'csv' || request.checkpoints ? csvColumns(plan.nodeType, plan.nodeSelection, plan.fragments) : [];
    const line = request.format === 'csv' ? (item: unknown) => csvRow(columns, item) : (item: unknown) => `${JSON.stringify(item)}\n`;

    // The client went away (before or during the stream): no more pages are asked for.
    let closed = false;
    res.once('close', () => (closed = true));
    let body: BodyWriter | undefined;
    let after: string | null = request.after ?? null;
    let rows = 0;
    for (let page = 0; !closed; page++) {
      const answer = await runPage(page, after);
      if ('failure' in answer) {
        await fail(answer.failure, page);
        return;
      }
      const { items, endCursor, hasNextPage, totalCount, withheld } = answer;
      if (page === 0) {
        res.status(200);
        res.setHeader('Content-Type', CONTENT_TYPES[request.format]);
        res.setHeader('Cache-Control', 'no-store');
        res.setHeader('X-Content-Type-Options', 'nosniff');
        if (request.format === 'csv') res.setHeader('Content-Disposition', `attachment; filename="${fileName(plan)}.csv"`);
        if (totalCount !== undefined) res.setHeader('X-Export-Total-Count', String(totalCount));
        if (withheld.length > 0) res.setHeader('X-Export-Withheld-Fields', withheld.join(','));
        body = createBodyWriter(req, res);
        if (request.format === 'csv') await body!.write(csvHeader(columns));
        // What a client needs to write the stream as CSV itself, and how many items to expect.
        if (request.checkpoints) await body!.write(`${JSON.stringify({ [START_KEY]: { columns: columns.map((c) => c.header), ...(totalCount !== undefined ? { totalCount } : {}) } })}\n`);
      }
      for (const item of items) {
        if (closed) return;
        await body!.write(line(item));
      }
      rows += items.length;
      if (hasNextPage && !endCursor) {
        await fail({ status: 502, headers: {}, errors: [{ message: 'The connection says it has a next page but gives no endCursor', extensions: { code: ErrorCode.ExportPageFailed } }] }, page + 1);
        return;
      }
      after = endCursor ?? after;
      if (request.checkpoints) await body!.write(`${JSON.stringify({ [CHECKPOINT_KEY]: { after, rows, hasNextPage } })}\n`);
      // One page at a time reaches the client as it is written, through the compressor too.
      body!.flush();
      if (!hasNextPage) break;
    }
    if (body && !closed) body.end();

    /** Fetches one page; the first is the request's own (already authenticated), each later one is authenticated and counted as a request. */
    async function runPage(
      page: number,
      cursor: string | null,
    ): Promise<{ failure: PageFailure } | { items: unknown[]; endCursor: string | null; hasNextPage: boolean; totalCount?: number; withheld: string[] }> {
      let auth = res.locals.auth as AuthIdentity;
      if (page > 0) {
        const result = await options.authenticate(req);
        if (!result.ok && 'limited' in result) {
          const { message, extensions } = rateLimitedError(result.limited);
          return { failure: { status: 429, headers: { 'retry-after': String(result.limited.retryAfterSeconds) }, errors: [{ message, extensions }] } };
        }
        if (!result.ok) return { failure: { status: 401, headers: {}, errors: errorBody(ErrorCode.Unauthenticated, `Not authenticated: ${result.reason}`).errors } };
        auth = result.identity;
      }
      const answer = await options.execute(
        {
          query: page === 0 ? plan.firstQuery : plan.query,
          variables: { ...request.variables, [plan.variables.first]: request.pageSize, [plan.variables.after]: cursor },
          ...(plan.operationName ? { operationName: plan.operationName } : {}),
        },
        auth,
        req,
      );
      const connection = answer.data?.[plan.connectionKey] as Record<string, unknown> | null | undefined;
      const errors = answer.errors ?? [];
      const failing = errors.filter((e) => !isWithheld(e));
      if (!connection || failing.length > 0 || (answer.status ?? 200) >= 400) {
        // Refused by the pipeline: its own status; the paged field withheld: 403; a failure under it: 502.
        const status = answer.status && answer.status >= 400 ? answer.status : failing.length === 0 ? 403 : httpStatusFor(ErrorCode.ExportPageFailed);
        return { failure: { status, headers: answer.headers, errors } };
      }
      const pageInfo = connection[PAGE_INFO_KEY] as { hasNextPage: boolean; endCursor: string | null };
      const list = (connection[plan.items.key] ?? []) as unknown[];
      const items = plan.items.kind === 'nodes' ? list : list.map((edge) => (edge as Record<string, unknown> | null)?.[(plan.items as { nodeKey: string }).nodeKey] ?? null);
      // Which fields of an item were withheld, by their path under it: the same on every page.
      const withheld = [...new Set(errors.map((e) => (e.path ?? []).slice(plan.items.kind === 'nodes' ? 3 : 4).join('.')).filter((p) => p !== ''))];
      const totalCount = typeof connection[TOTAL_COUNT_KEY] === 'number' ? (connection[TOTAL_COUNT_KEY] as number) : undefined;
      return { items, endCursor: pageInfo.endCursor, hasNextPage: pageInfo.hasNextPage, ...(totalCount !== undefined ? { totalCount } : {}), withheld };
    }

    /** Before the stream: the pipeline's own answer. In it: an NDJSON error line, or a CSV cut short. */
    async function fail(failure: PageFailure, page: number) {
      if (!body) {
        for (const [name, value] of Object.entries(failure.headers)) res.setHeader(name, value);
        res.status(failure.status).json({ errors: failure.errors });
        return;
      }
      const codes = [...new Set(failure.errors.map((e) => e.extensions?.code).filter((c) => c !== undefined))];
      logger.warn({ page, rows, codes }, 'export: a page failed; the stream ends');
      if (request.format === 'ndjson') {
        const retryAfter = failure.headers['retry-after'];
        const line = {
          [ERROR_KEY]: {
            message: `Page ${page + 1} of the export failed; resume with after = the last cursor`,
            code: ErrorCode.ExportPageFailed,
            status: failure.status,
            after,
            rows,
            ...(retryAfter ? { retryAfterSeconds: Number(retryAfter) } : {}),
            errors: failure.errors,
          },
        };
        body!.end(`${JSON.stringify(line)}\n`);
        return;
      }
      // A CSV cannot say it failed in-band: the connection is closed without the chunked body's
      // end, which no client takes for a clean end, once the pages already written are on the wire.
      await body.cutShort();
    }
  };
}

/** A file name from the operation's name or the field's, in characters every system accepts. */
function fileName(plan: ExportPlan): string {
  return (plan.operationName ?? plan.connectionKey).replace(/[^A-Za-z0-9_-]/g, '_') || 'export';
}
