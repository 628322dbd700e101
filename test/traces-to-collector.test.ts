/**
 * The gateway as a process of its own (dist/gateway/src/main.js, as `npm start` runs it) exports
 * its spans over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set: a real HTTP server on port 0
 * stands in for the collector. The spans of an operation (here one whose subgraph is down, so
 * no other service is needed) arrive at /v1/traces under the service's name by the time the
 * process has stopped, and carry the trace id the client's error named.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signToken } from '../gateway/src/auth';
import { subgraphUrlEnv } from '../gateway/src/config';
import type { ReadyMessage } from '../lib/process';
import { fromRoot } from '../lib/root';
import { SUBGRAPHS, SYNC_SERVICE } from '../lib/services';
import { freePort } from '../lib/stack/patient-graph';

const GATEWAY = fromRoot('dist/gateway/src/main.js');
const JWT_SECRET = 'collector-test-secret-0123456789abcdef';

interface Received {
  path: string;
  contentType: string;
  body: Buffer;
}

describe('spans exported to an OTLP collector', () => {
  let collector: http.Server;
  let collectorUrl: string;
  const received: Received[] = [];
  let deadSubgraph: string;

  beforeAll(async () => {
    collector = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ path: req.url ?? '', contentType: String(req.headers['content-type']), body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': String(req.headers['content-type'] ?? 'application/json') }).end();
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    // Every subgraph at a port nothing listens on: the operation fails fast, its spans are complete.
    deadSubgraph = `http://127.0.0.1:${await freePort()}/graphql`;
  });
  beforeEach(() => {
    received.length = 0;
  });
  afterAll(async () => {
    await new Promise((resolve) => collector.close(resolve));
  });

  /** Runs the gateway with `env` on top of what it needs, sends one query, stops it; returns the error the client got. */
  async function oneOperation(env: Record<string, string>): Promise<{ extensions: Record<string, unknown> }> {
    const child: ChildProcess = fork(GATEWAY, [], {
      env: {
        PATH: process.env.PATH,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        AUTH_JWT_SECRET: JWT_SECRET,
        INTERNAL_TOKEN_SECRET: 'collector-test-internal-0123456789abcdef',
        SUPERGRAPH_WATCH: 'false',
        AUTH_CLINICS: 'test',
        ...Object.fromEntries([...SUBGRAPHS.map(({ name }) => name), SYNC_SERVICE.name].map((name) => [subgraphUrlEnv(name), deadSubgraph])),
        ...env,
      },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.on('message', (message: ReadyMessage) => message.type === 'ready' && resolve(message.url));
        child.once('exit', (code) => reject(new Error(`gateway exited with ${code} before it was ready`)));
      });
      const token = signToken(JWT_SECRET, { subject: 'collector-test', roles: ['clinician', 'admin'], clinic: 'test' });
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: 'query Traced { patient(id: "p1") { id } }' }),
      });
      const body = (await response.json()) as { errors?: Array<{ extensions: Record<string, unknown> }> };
      const failure = body.errors?.find((error) => error.extensions.code === 'UPSTREAM_UNAVAILABLE');
      if (!failure) throw new Error(`expected UPSTREAM_UNAVAILABLE, got ${JSON.stringify(body)}`);
      return failure;
    } finally {
      // SIGTERM: the gateway drains, then flushes the spans it still holds before it exits.
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  }

  it('POSTs protobuf to <endpoint>/v1/traces named after the gateway, with the trace id the error names', async () => {
    const failure = await oneOperation({ OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl });
    const traceId = failure.extensions.traceId as string;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(received.length).toBeGreaterThan(0);
    for (const request of received) {
      expect(request.path).toBe('/v1/traces');
      expect(request.contentType).toBe('application/x-protobuf');
    }
    const all = Buffer.concat(received.map((request) => request.body));
    // Protobuf keeps strings as they are, and trace ids as their 16 bytes.
    expect(all.includes('gateway')).toBe(true);
    expect(all.includes('graphql.operation query')).toBe(true);
    expect(all.includes('subgraph.fetch semble')).toBe(true);
    expect(all.includes(Buffer.from(traceId, 'hex'))).toBe(true);
  });

  it('sends OTLP JSON to the traces endpoint under OTEL_SERVICE_NAME with http/json', async () => {
    const failure = await oneOperation({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collectorUrl}/custom/traces`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'edge-gateway',
    });
    expect(received.length).toBeGreaterThan(0);
    const spans: Array<{ name: string; traceId: string; parentSpanId?: string; spanId: string }> = [];
    for (const request of received) {
      expect(request.path).toBe('/custom/traces');
      expect(request.contentType).toBe('application/json');
      for (const resourceSpans of JSON.parse(request.body.toString('utf8')).resourceSpans) {
        const name = resourceSpans.resource.attributes.find((attribute: { key: string }) => attribute.key === 'service.name');
        expect(name.value.stringValue).toBe('edge-gateway');
        for (const scope of resourceSpans.scopeSpans) spans.push(...scope.spans);
      }
    }
    const operation = spans.find((span) => span.name === 'graphql.operation query');
    expect(operation).toBeDefined();
    expect(operation!.traceId).toBe(failure.extensions.traceId);
    const fetchSpan = spans.find((span) => span.name === 'subgraph.fetch semble');
    expect(fetchSpan?.traceId).toBe(operation!.traceId);
    // Each try that failed to connect is a span of the fetch.
    expect(spans.some((span) => span.name === 'POST semble' && span.parentSpanId === fetchSpan!.spanId)).toBe(true);
  });
});
