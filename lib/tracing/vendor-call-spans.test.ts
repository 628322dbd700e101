/**
 * Each vendor request attempt (lib/vendor-http.ts) is a client span under the caller's span,
 * named by its route template, with its try number and status, and it sends its trace context
 * to the vendor as `traceparent`. A real HTTP server on port 0 plays the vendor: 503 first, then
 * an answer. Nothing of the path's values (ids, an email in the query) is in the span.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { createVendorHttp } from '../vendor-http';
import { startTracing } from './setup';
import type { Tracing } from './setup';
import { inSpan } from './spans';

describe('vendor call spans', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let vendor: http.Server;
  let baseUrl: string;
  const traceparents: string[] = [];

  beforeAll(async () => {
    tracing = startTracing({ serviceName: 'vendor-span-test', protocol: 'http/protobuf' }, { exporter });
    let served = 0;
    vendor = http.createServer((req, res) => {
      traceparents.push(String(req.headers.traceparent));
      served += 1;
      if (served === 1) res.writeHead(503, { 'retry-after': '0' }).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: '123' }));
    });
    await new Promise<void>((resolve) => vendor.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(vendor.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => vendor.close(resolve));
    await tracing?.shutdown();
  });

  it('makes a span per attempt under the caller, retries included, and sends each one as the traceparent', async () => {
    const client = createVendorHttp({ vendor: 'hubspot', baseUrl, headers: { authorization: 'Bearer t' } });
    const parent = await inSpan('caller', {}, async (span) => {
      await client.request({ path: '/crm/v3/objects/contacts/123?idProperty=email&email=jo%40example.com' });
      return span.spanContext();
    });

    const attempts = exporter.getFinishedSpans().filter((span) => span.attributes['patient_graph.vendor'] === 'hubspot');
    expect(attempts.map((span) => span.name)).toEqual(['GET /crm/v3/objects/contacts/{id}', 'GET /crm/v3/objects/contacts/{id}']);
    const [first, second] = attempts;
    for (const attempt of attempts) {
      expect(attempt.kind).toBe(SpanKind.CLIENT);
      expect(attempt.spanContext().traceId).toBe(parent.traceId);
      expect(attempt.parentSpanContext?.spanId).toBe(parent.spanId);
      expect(attempt.attributes['url.template']).toBe('/crm/v3/objects/contacts/{id}');
      expect(JSON.stringify(attempt.attributes)).not.toMatch(/123|example\.com|Bearer/);
    }
    expect(first!.attributes['http.response.status_code']).toBe(503);
    expect(first!.status.code).toBe(SpanStatusCode.ERROR);
    expect(first!.attributes['http.request.resend_count']).toBeUndefined();
    expect(second!.attributes['http.response.status_code']).toBe(200);
    expect(second!.attributes['http.request.resend_count']).toBe(1);
    expect(second!.status.code).not.toBe(SpanStatusCode.ERROR);
    // The vendor saw each attempt's own span as the parent of whatever it does.
    expect(traceparents).toEqual([`00-${parent.traceId}-${first!.spanContext().spanId}-01`, `00-${parent.traceId}-${second!.spanContext().spanId}-01`]);
  });
});
