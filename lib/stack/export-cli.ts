/**
 * `npm run export -- --query file.graphql --format csv --out file [--variables json]
 * [--url http://localhost:4000] [--token …] [--page-size N] [--resume]`: the gateway's bulk
 * export (/export) into a file, with a progress bar on stderr (rows, rate, and an ETA when the
 * connection has a `totalCount`).
 *
 * On the wire it always asks for NDJSON with checkpoints; rows are written to the file a page at a
 * time, each page only once its checkpoint arrived, and after each page `<out>.export-state.json`
 * records the cursor, the rows and the file's length. `--resume` cuts the file back to the last
 * complete page and continues after its cursor, so a dropped connection costs at most one page and
 * never leaves a row twice or a gap. CSV is written here with the gateway's own CSV writer and the
 * columns the gateway names in the stream's first line.
 *
 * The token: `--token`, else PATIENT_GRAPH_TOKEN, else one signed with the running `npm start`'s
 * development secret (AUTH_JWT_SECRET or its .sync-state/dev-auth.json), as `npm run token` does.
 * Exit codes: 0 done, 1 failed (the message says why and whether --resume continues), 2 bad usage.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { csvHeader, csvRow } from '../../gateway/src/export/csv';
import type { CsvColumn } from '../../gateway/src/export/csv';
import { DEV_IDENTITY, devAuthFile, devSigningSecret, signDevToken } from './dev-token';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
export const TOKEN_ENV = 'PATIENT_GRAPH_TOKEN';

interface Options {
  query: string;
  format: 'ndjson' | 'csv';
  out: string;
  variables: Record<string, unknown>;
  url: string;
  token?: string;
  pageSize?: number;
  resume: boolean;
}

/** What `--resume` needs: the request it continues and where the file's last complete page ends. */
interface ExportState {
  request: string;
  after: string | null;
  rows: number;
  bytes: number;
  done: boolean;
}

class UsageError extends Error {}

const stateFile = (out: string) => `${out}.export-state.json`;

function writeState(out: string, state: ExportState) {
  const file = stateFile(out);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state));
  fs.renameSync(`${file}.tmp`, file);
}

function parseArgs(argv: string[]): Options {
  const program = new Command('npm run export --')
    .description("Export a paged GraphQL query's items from the gateway to a file (NDJSON or CSV)")
    .requiredOption('--query <file>', 'a .graphql file: one query whose root field is a paged connection')
    .requiredOption('--out <file>', 'the file to write')
    .addOption(new Option('--format <format>', 'ndjson or csv').choices(['ndjson', 'csv']).default('ndjson'))
    .option('--variables <json>', 'the query\'s variables, a JSON object', (value) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        throw new InvalidArgumentError('expected a JSON object, got text that is not JSON');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError('expected a JSON object');
      return parsed;
    }, {})
    .option('--url <url>', "the gateway's URL", 'http://localhost:4000')
    .option('--token <token>', `a bearer token (else ${TOKEN_ENV}, else the running npm start's development secret)`)
    .option('--page-size <n>', 'items per page (the gateway caps it, 500 by default)', (value) => {
      if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`expected a whole number of at least 1, got ${JSON.stringify(value)}`);
      return Number(value);
    })
    .option('--resume', 'continue an interrupted export of --out from its last complete page', false)
    .exitOverride();
  program.parse(argv, { from: 'node' });
  const options = program.opts<Omit<Options, 'query'> & { query: string }>();
  let query: string;
  try {
    query = fs.readFileSync(options.query, 'utf8');
  } catch (error) {
    throw new UsageError(`--query: expected a readable .graphql file, could not read ${options.query} (${(error as NodeJS.ErrnoException).code})`);
  }
  try {
    new URL(options.url);
  } catch {
    throw new UsageError(`--url: expected a URL such as http://localhost:4000, got ${JSON.stringify(options.url)}`);
  }
  return { ...options, query };
}

function tokenFor(options: Options, env: NodeJS.ProcessEnv): string {
  if (options.token) return options.token;
  if (env[TOKEN_ENV]) return env[TOKEN_ENV]!;
  const secret = devSigningSecret(env);
  if (!secret) throw new UsageError(`No token: expected --token, ${TOKEN_ENV}, or a running \`npm start\` (its ${devAuthFile(env)}) or AUTH_JWT_SECRET to sign one with`);
  return signDevToken(secret, DEV_IDENTITY);
}

/** Lines of a streamed body, as they complete. */
async function* linesOf(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let at: number;
    while ((at = buffered.indexOf('\n')) >= 0) {
      yield buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
    }
  }
  if (buffered.trim() !== '') yield buffered;
}

async function run(options: Options, env: NodeJS.ProcessEnv): Promise<number> {
  const token = tokenFor(options, env);
  // What identifies "the same export" for --resume: the query, its variables, the format.
  const request = crypto.createHash('sha256').update(JSON.stringify([options.query, options.variables, options.format])).digest('hex');
  let state: ExportState = { request, after: null, rows: 0, bytes: 0, done: false };
  if (options.resume) {
    let saved: ExportState;
    try {
      saved = JSON.parse(fs.readFileSync(stateFile(options.out), 'utf8')) as ExportState;
    } catch {
      throw new UsageError(`--resume: expected ${stateFile(options.out)} from an earlier run of this export, found none`);
    }
    if (saved.request !== request) throw new UsageError(`--resume: ${options.out} was written by another query, variables or format`);
    if (saved.done) {
      process.stderr.write(`${options.out} is complete already (${saved.rows} rows)\n`);
      return 0;
    }
    state = saved;
  } else {
    // A fresh run: a state left by an earlier one no longer describes the file.
    fs.rmSync(stateFile(options.out), { force: true });
  }
  // The file holds whole pages only: anything after the last checkpoint is cut away.
  const file = fs.openSync(options.out, options.resume ? 'r+' : 'w');
  fs.ftruncateSync(file, state.bytes);
  let bytes = state.bytes;
  const append = (text: string) => {
    const buffer = Buffer.from(text, 'utf8');
    fs.writeSync(file, buffer, 0, buffer.length, bytes);
    bytes += buffer.length;
  };

  const response = await fetch(new URL('/export', options.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      query: options.query,
      variables: options.variables,
      format: 'ndjson',
      checkpoints: true,
      ...(options.pageSize ? { pageSize: options.pageSize } : {}),
      ...(state.after ? { after: state.after } : {}),
    }),
  }).catch((error: Error) => {
    throw new Error(`Could not reach the gateway at ${options.url}: ${(error.cause as Error | undefined)?.message ?? error.message}`);
  });
  if (!response.ok || !response.body) {
    const text = await response.text();
    let message = text;
    try {
      const body = JSON.parse(text) as { errors?: Array<{ message: string; extensions?: { code?: string } }> };
      message = (body.errors ?? []).map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('; ');
    } catch {
      // Not JSON: the text as it came.
    }
    fs.closeSync(file);
    process.stderr.write(`The gateway refused the export (HTTP ${response.status}): ${message}\n`);
    return EXIT_FAILED;
  }

  let columns: CsvColumn[] = [];
  let total: number | undefined;
  const started = Date.now();
  const startRows = state.rows;
  const bar = new SingleBar({
    stream: process.stderr,
    format: '{bar} {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}',
    hideCursor: true,
  });
  let barStarted = false;
  const rate = () => Math.round((state.rows - startRows) / Math.max(0.001, (Date.now() - started) / 1000));
  let page: string[] = [];
  let finished = false;
  let failure: string | undefined;
  try {
    for await (const line of linesOf(response.body)) {
      const parsed = JSON.parse(line) as Record<string, any>;
      if (parsed['@export']) {
        columns = (parsed['@export'].columns as string[]).map((header) => ({ header, path: header.split('.') }));
        total = parsed['@export'].totalCount;
        if (options.format === 'csv' && state.bytes === 0) append(csvHeader(columns));
        if (total !== undefined) bar.start(total, state.rows, { rate: 0 });
        else process.stderr.write('no totalCount on this connection: rows and rate only\n');
        barStarted = total !== undefined;
      } else if (parsed['@checkpoint']) {
        append(page.join(''));
        page = [];
        const checkpoint = parsed['@checkpoint'] as { after: string | null; rows: number; hasNextPage: boolean };
        state = { ...state, after: checkpoint.after, rows: startRows + checkpoint.rows, bytes, done: !checkpoint.hasNextPage };
        fs.fsyncSync(file);
        writeState(options.out, state);
        if (barStarted) bar.update(state.rows, { rate: rate() });
        else process.stderr.write(`\r${state.rows} rows | ${rate()} rows/s`);
        if (state.done) finished = true;
      } else if (parsed['@error']) {
        const error = parsed['@error'] as { message: string; errors: Array<{ message: string; extensions?: { code?: string } }>; retryAfterSeconds?: number };
        failure = `${error.message}: ${error.errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('; ')}${error.retryAfterSeconds ? ` (retry after ${error.retryAfterSeconds} s)` : ''}`;
      } else {
        page.push(options.format === 'csv' ? csvRow(columns, parsed) : `${line}\n`);
      }
    }
  } catch (error) {
    failure = `the connection broke (${(error as Error).message})`;
  } finally {
    if (barStarted) bar.stop();
    fs.closeSync(file);
  }
  if (finished) {
    const seconds = (Date.now() - started) / 1000;
    process.stderr.write(`${barStarted ? '' : '\n'}exported ${state.rows} rows to ${options.out} in ${seconds.toFixed(1)} s (${rate()} rows/s)\n`);
    return 0;
  }
  process.stderr.write(`\nThe export stopped after ${state.rows} rows: ${failure ?? 'the stream ended before the last page'}. Run the same command with --resume to continue.\n`);
  return EXIT_FAILED;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  try {
    return await run(parseArgs(argv), env);
  } catch (error) {
    // Commander has printed its message (or the help, exit code 0).
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_USAGE;
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`${(error as Error).message}\n`);
    return EXIT_FAILED;
  }
}

if (require.main === module) {
  void main(process.argv, process.env).then((code) => {
    process.exitCode = code;
  });
}
