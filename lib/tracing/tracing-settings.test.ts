/**
 * The tracing settings, as an entrypoint reads them from the standard OTEL_* variables: off
 * without an endpoint and with OTEL_SDK_DISABLED (a real HTTP server on port 0 stands in for the
 * collector, and gets nothing), the traces endpoint and protocol chosen as the specification
 * says, bad values refused by name. Export itself is tested through the gateway's own process
 * (test/traces-to-collector.test.ts): the OTLP exporters load `http` with a dynamic import,
 * which Jest's module sandbox does not run.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../config';
import { loadTracingConfig } from './config';
import { startTracing } from './setup';
import { activeTraceIds, inSpan } from './spans';

interface Received {
  method: string;
  path: string;
  contentType: string;
  body: Buffer;
}

describe('tracing settings', () => {
  let server: http.Server;
  let endpoint: string;
  const received: Received[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ method: req.method ?? '', path: req.url ?? '', contentType: String(req.headers['content-type']), body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': String(req.headers['content-type'] ?? 'application/json') }).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    received.length = 0;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  /** Starts tracing from `env`, makes one span, shuts tracing down (which flushes the batch). */
  async function traceOneSpan(env: NodeJS.ProcessEnv): Promise<{ enabled: boolean; ids: ReturnType<typeof activeTraceIds> }> {
    const tracing = startTracing(loadTracingConfig(env, 'default-name'));
    let ids: ReturnType<typeof activeTraceIds>;
    try {
      await inSpan('probe.operation', {}, async () => {
        ids = activeTraceIds();
      });
    } finally {
      await tracing.shutdown();
    }
    return { enabled: tracing.enabled, ids };
  }

  it('sends nothing and records no trace with OTEL_SDK_DISABLED=true, even with an endpoint', async () => {
    const { enabled, ids } = await traceOneSpan({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: 'true' });
    expect(enabled).toBe(false);
    expect(ids).toBeUndefined();
    expect(received).toHaveLength(0);
  });

  it('is off without an endpoint: no span is active inside a span', async () => {
    const { enabled, ids } = await traceOneSpan({ OTEL_SERVICE_NAME: 'no-endpoint' });
    expect(enabled).toBe(false);
    expect(ids).toBeUndefined();
    expect(received).toHaveLength(0);
  });

  it('posts to <endpoint>/v1/traces, or to the traces endpoint when one is set, with the traces protocol first', () => {
    expect(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }, 'gateway')).toEqual({
      tracesUrl: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      serviceName: 'gateway',
    });
    expect(
      loadTracingConfig(
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp',
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
          OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
          OTEL_SERVICE_NAME: 'edge-gateway',
        },
        'gateway',
      ),
    ).toEqual({ tracesUrl: 'https://traces.example/otlp', protocol: 'http/json', serviceName: 'edge-gateway' });
    expect(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }, 'gateway').tracesUrl).toBeUndefined();
  });

  it('refuses a bad setting, naming the variable and what it expected', () => {
    expect(() => loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'x')).toThrow(ConfigError);
    expect(() => loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'x')).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT: expected an http\(s\) URL/);
    expect(() => loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'x')).toThrow(
      /OTEL_EXPORTER_OTLP_PROTOCOL: expected one of "http\/protobuf", "http\/json", found "grpc"/,
    );
  });
});
