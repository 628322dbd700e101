/**
 * Each connector delivery attempt is a client span under whatever asked for it: the connector,
 * the vendor's host, the status and the outcome. A Slack incoming-webhook URL carries its secret
 * in the path, so the span must not hold the URL.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { startTracing } from '../../../lib/tracing/setup';
import type { Tracing } from '../../../lib/tracing/setup';
import { inSpan } from '../../../lib/tracing/spans';
import { createConnector } from '../src/connectors';
import { TOKEN, message, never, useConnectorsEmulator } from './connectors-harness';

const emulator = useConnectorsEmulator();

describe('connector delivery spans', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  beforeAll(() => {
    tracing = startTracing({ serviceName: 'connector-span-test', protocol: 'http/protobuf' }, { exporter });
  });
  afterAll(async () => {
    await tracing?.shutdown();
  });

  const slack = (secret: string) =>
    createConnector('front-desk', { kind: 'slack', urlEnv: 'SLACK_URL', fields: ['patientId'] }, { SLACK_URL: `${emulator().url}/services/T0001/B0001/${secret}` });

  it('records a sent attempt and a refused one as client spans of the step, without the webhook URL', async () => {
    await inSpan('cascade.step test', {}, async () => {
      expect(await slack(TOKEN).send(message({ text: 'New patient pat-42' }), never)).toMatchObject({ status: 'sent' });
      expect(await slack('not-the-secret').send(message({ text: 'New patient pat-42' }), never)).toMatchObject({ status: 'failed' });
    });
    const spans = exporter.getFinishedSpans();
    const step = spans.find((span) => span.name === 'cascade.step test')!;
    const attempts = spans.filter((span) => span.name === 'POST connector');
    expect(attempts).toHaveLength(2);
    for (const attempt of attempts) {
      expect(attempt.kind).toBe(SpanKind.CLIENT);
      expect(attempt.parentSpanContext?.spanId).toBe(step.spanContext().spanId);
      expect(attempt.attributes['patient_graph.connector']).toBe('slack "front-desk"');
      expect(attempt.attributes['server.address']).toBe('127.0.0.1');
      expect(JSON.stringify(attempt.attributes)).not.toContain(TOKEN);
      expect(JSON.stringify(attempt.attributes)).not.toContain('/services/');
    }
    expect(attempts.map((span) => [span.attributes['patient_graph.outcome'], span.status.code])).toEqual([
      ['sent', SpanStatusCode.UNSET],
      ['failed', SpanStatusCode.ERROR],
    ]);
  });
});
