/**
 * What an export request asks for, from a POST's JSON body or a GET's query string (Power BI's
 * "From Web" sends GETs), checked once, up front: every problem names its parameter and what was
 * expected.
 */
import { z } from 'zod';

export const exportConfigSchema = z.object({
  /** Items per page when the request does not say (`pageSize`). @default 100 */
  pageSize: z.number().int().positive().default(100),
  /** The largest `pageSize` a request may ask for; a page is what the export holds in memory at once. @default 500 */
  maxPageSize: z.number().int().positive().default(500),
});

export type ExportConfig = z.infer<typeof exportConfigSchema>;

export type ExportFormat = 'ndjson' | 'csv';

export interface ExportRequest {
  query: string;
  variables: Record<string, unknown>;
  operationName?: string;
  format: ExportFormat;
  /** Start after this cursor (a resumed export); from the start when absent. */
  after?: string;
  pageSize: number;
  /** NDJSON only: a checkpoint line after each page, with the cursor to resume from. */
  checkpoints: boolean;
}

/** A parameter that is wrong: its name and what was expected. */
export class ExportRequestError extends Error {
  constructor(
    readonly field: string,
    readonly expected: string,
    found: string,
  ) {
    super(`${field}: expected ${expected}, found ${found}`);
  }
}

const describe = (value: unknown) => (value === undefined ? 'nothing' : Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`);

/** Reads the parameters of a GET (strings) or a POST (JSON values) alike. */
export function readExportRequest(input: Record<string, unknown>, fromQueryString: boolean, config: ExportConfig): ExportRequest {
  const { query, operationName, after } = input;
  if (typeof query !== 'string' || query.trim() === '') throw new ExportRequestError('query', 'a GraphQL query document', describe(query));
  if (operationName !== undefined && typeof operationName !== 'string') throw new ExportRequestError('operationName', 'a string', describe(operationName));
  if (after !== undefined && (typeof after !== 'string' || after === '')) throw new ExportRequestError('after', 'a cursor (a non-empty string)', describe(after));

  let variables = input.variables ?? {};
  if (fromQueryString && typeof variables === 'string') {
    try {
      variables = JSON.parse(variables);
    } catch {
      throw new ExportRequestError('variables', 'a JSON object', 'text that is not JSON');
    }
  }
  if (typeof variables !== 'object' || variables === null || Array.isArray(variables)) throw new ExportRequestError('variables', 'a JSON object', describe(variables));

  const format = input.format ?? 'ndjson';
  if (format !== 'ndjson' && format !== 'csv') throw new ExportRequestError('format', '"ndjson" or "csv"', typeof format === 'string' ? JSON.stringify(format) : describe(format));

  const rawSize = input.pageSize ?? config.pageSize;
  const pageSize = typeof rawSize === 'string' && fromQueryString && /^\d+$/.test(rawSize) ? Number(rawSize) : rawSize;
  if (typeof pageSize !== 'number' || !Number.isInteger(pageSize) || pageSize < 1 || pageSize > config.maxPageSize) {
    throw new ExportRequestError('pageSize', `a whole number from 1 to ${config.maxPageSize}`, typeof rawSize === 'string' || typeof rawSize === 'number' ? JSON.stringify(rawSize) : describe(rawSize));
  }

  const rawCheckpoints = input.checkpoints ?? false;
  const checkpoints = fromQueryString && typeof rawCheckpoints === 'string' ? rawCheckpoints === 'true' || (rawCheckpoints === 'false' ? false : rawCheckpoints) : rawCheckpoints;
  if (typeof checkpoints !== 'boolean') throw new ExportRequestError('checkpoints', 'true or false', JSON.stringify(rawCheckpoints));
  if (checkpoints && format !== 'ndjson') throw new ExportRequestError('checkpoints', 'format "ndjson" (a CSV has no place for a checkpoint)', `format "${format}"`);

  return {
    query,
    variables: variables as Record<string, unknown>,
    ...(operationName ? { operationName } : {}),
    format,
    ...(after ? { after } : {}),
    pageSize,
    checkpoints,
  };
}
