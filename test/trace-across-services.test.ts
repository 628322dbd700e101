/**
 * One trace from the client to the vendor, through the real stack in this process: the
 * OpenTelemetry SDK with an in-memory exporter sees the gateway's operation span, its subgraph
 * fetch and the try that went on the wire, the subgraph's server span (continued from the
 * `traceparent` the gateway sent over HTTP) and the subgraph's call to the vendor emulator, all
 * under the trace id the client sent. Errors and log lines name the same trace; a sync step is a
 * trace of its own with its vendor calls as children. Once tracing is shut down, errors and log
 * lines carry no trace id.
 */
import { SpanKind } from '@opentelemetry/api';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { createLogger } from '../lib/logger';
import { freePort } from '../lib/stack/patient-graph';
import { startTracing } from '../lib/tracing/setup';
import type { Tracing } from '../lib/tracing/setup';
import { startPatientGraph } from './stack';
import type { PatientGraphStack } from './stack';

async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, deadlineMs = 20_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// A client's own trace context, as a browser or an upstream service would send it.
const CLIENT_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${CLIENT_TRACE_ID}-${CLIENT_SPAN_ID}-01`;

describe('tracing across the gateway, the subgraphs and the vendors', () => {
  const exporter = new InMemorySpanExporter();
  const logLines: string[] = [];
  let tracing: Tracing;
  let stack: PatientGraphStack;

  beforeAll(async () => {
    tracing = startTracing({ serviceName: 'patient-graph-test', protocol: 'http/protobuf' }, { exporter });
    stack = await startPatientGraph({
      patients: 30,
      // Payments is unreachable (a port nothing listens on): its fields fail, the rest is served.
      gatewayEnv: { SUBGRAPH_PAYMENTS_URL: `http://127.0.0.1:${await freePort()}/graphql` },
      gatewayLogger: createLogger('gateway', 'warn', { write: (line: string) => void logLines.push(line) }),
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await tracing?.shutdown();
  });

  const spans = () => exporter.getFinishedSpans();
  const byId = (id: string | undefined) => spans().find((span) => span.spanContext().spanId === id);
  const parentOf = (span: ReadableSpan) => byId(span.parentSpanContext?.spanId);
  /** Whether `ancestor` is on `span`'s chain of parents. */
  const descends = (span: ReadableSpan, ancestor: ReadableSpan) => {
    for (let at = parentOf(span); at; at = parentOf(at)) if (at === ancestor) return true;
    return false;
  };
  const post = (query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}) =>
    fetch(stack.gateway.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}`, ...headers },
      body: JSON.stringify({ query, variables }),
    }).then(async (response) => ({ status: response.status, ...((await response.json()) as { data?: any; errors?: any[] }) }));

  it("continues the client's traceparent from the gateway's operation through the subgraph fetch to the Semble call", async () => {
    const patient = stack.world.patients[0]!;
    const result = await post('query PatientName($id: ID!) { patient(id: $id) { id fullName } }', { id: patient.id }, { traceparent: TRACEPARENT });
    expect(result.errors).toBeUndefined();
    expect(result.data.patient.id).toBe(patient.id);

    // The operation's span ends when the response has gone: wait for it, and for the vendor call under it.
    const operation = await until('the gateway operation span', () =>
      spans().find((span) => span.name === 'graphql.operation query' && span.attributes['graphql.operation.name'] === 'PatientName' && !span.attributes['patient_graph.subgraph']),
    );
    expect(operation.kind).toBe(SpanKind.SERVER);
    expect(operation.spanContext().traceId).toBe(CLIENT_TRACE_ID);
    expect(operation.parentSpanContext?.spanId).toBe(CLIENT_SPAN_ID);
    expect(operation.attributes['graphql.operation.type']).toBe('query');
    // Never the document or its variables: they may hold PHI.
    expect(JSON.stringify(operation.attributes)).not.toContain(patient.id);

    const inTrace = () => spans().filter((span) => span.spanContext().traceId === CLIENT_TRACE_ID);
    const fetchSpan = inTrace().find((span) => span.name === 'subgraph.fetch semble')!;
    expect(fetchSpan).toBeDefined();
    expect(fetchSpan.attributes['patient_graph.subgraph']).toBe('semble');
    expect(fetchSpan.attributes['patient_graph.outcome']).toBe('success');
    expect(descends(fetchSpan, operation)).toBe(true);
    // Query planning is a span of the operation too (@apollo/gateway's own, through the same SDK).
    expect(inTrace().some((span) => span.name === 'gateway.plan' && descends(span, operation))).toBe(true);

    const attempt = inTrace().find((span) => span.name === 'POST semble' && parentOf(span) === fetchSpan)!;
    expect(attempt).toBeDefined();
    expect(attempt.kind).toBe(SpanKind.CLIENT);
    expect(attempt.attributes['url.full']).toBe(stack.subgraphs.semble);
    expect(attempt.attributes['patient_graph.attempt']).toBe(1);
    expect(attempt.attributes['http.response.status_code']).toBe(200);

    // The subgraph's server span is the child of the try: the trace crossed HTTP in `traceparent`.
    const subgraphOperation = inTrace().find((span) => span.name === 'graphql.operation query' && span.attributes['patient_graph.subgraph'] === 'semble')!;
    expect(subgraphOperation).toBeDefined();
    expect(subgraphOperation.kind).toBe(SpanKind.SERVER);
    expect(subgraphOperation.parentSpanContext?.spanId).toBe(attempt.spanContext().spanId);

    const vendorCall = await until('the Semble call span', () =>
      spans().find((span) => span.attributes['patient_graph.vendor'] === 'semble' && span.spanContext().traceId === CLIENT_TRACE_ID),
    );
    expect(vendorCall.kind).toBe(SpanKind.CLIENT);
    expect(vendorCall.attributes['http.response.status_code']).toBe(200);
    expect(vendorCall.attributes['server.address']).toBe('127.0.0.1');
    expect(descends(vendorCall, subgraphOperation)).toBe(true);
  });

  it("starts a trace of its own for a request without traceparent, and keeps each request's spans apart", async () => {
    const before = new Set(spans().map((span) => span.spanContext().traceId));
    const result = await post('query Another($id: ID!) { patient(id: $id) { id } }', { id: stack.world.patients[1]!.id });
    expect(result.errors).toBeUndefined();
    const operation = await until('the operation span', () => spans().find((span) => span.name === 'graphql.operation query' && span.attributes['graphql.operation.name'] === 'Another' && !span.attributes['patient_graph.subgraph']));
    const traceId = operation.spanContext().traceId;
    expect(before.has(traceId)).toBe(false);
    expect(operation.parentSpanContext).toBeUndefined();
    const semble = await until('the subgraph server span', () =>
      spans().find((span) => span.attributes['patient_graph.subgraph'] === 'semble' && span.kind === SpanKind.SERVER && span.spanContext().traceId === traceId),
    );
    expect(parentOf(semble)?.name).toBe('POST semble');
    expect(descends(semble, operation)).toBe(true);
  });

  it('puts the trace id in the error of a subgraph that cannot be reached and in the log line about it', async () => {
    const patient = stack.world.patients[2]!;
    const result = await post('query WithPayments($id: ID!) { patient(id: $id) { id payments { id } } }', { id: patient.id }, { traceparent: TRACEPARENT });
    expect(result.data.patient.id).toBe(patient.id);
    const failure = result.errors?.find((error) => error.extensions?.code === 'UPSTREAM_UNAVAILABLE');
    expect(failure).toBeDefined();
    expect(failure.extensions.serviceName).toBe('payments');
    expect(failure.extensions.traceId).toBe(CLIENT_TRACE_ID);

    const line = await until('the gateway log line', () => logLines.map((text) => JSON.parse(text)).find((entry) => entry.msg === 'subgraph unavailable' && entry.subgraph === 'payments'));
    expect(line.trace_id).toBe(CLIENT_TRACE_ID);
    // The line was written inside the payments fetch's span.
    const fetchSpan = await until('the payments fetch span', () => spans().find((span) => span.spanContext().spanId === line.span_id));
    expect(fetchSpan.name).toBe('subgraph.fetch payments');
    expect(fetchSpan.attributes['patient_graph.outcome']).toBe('ATTEMPTS_FAILED');
  });

  it('traces a sync step from a Semble webhook as its own trace, with the vendor calls as its children', async () => {
    const patient = stack.world.patients[3]!;
    const response = await fetch(`${stack.emulators.semble}/__admin/patients/${patient.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ firstName: 'Traced' }),
    });
    expect(response.ok).toBe(true);

    const patientSync = await until('the patient sync span', () =>
      spans().find((span) => span.name === 'sync.patients' && span.attributes['patient_graph.sync.trigger'] === 'SEMBLE'),
    );
    const event = parentOf(patientSync)!;
    expect(event.name).toBe('sync.inbox_event');
    expect(event.kind).toBe(SpanKind.CONSUMER);
    expect(event.parentSpanContext).toBeUndefined();
    expect(event.attributes['patient_graph.sync.vendors']).toEqual(['semble']);
    const vendorCalls = spans().filter((span) => span.attributes['patient_graph.vendor'] !== undefined && descends(span, patientSync));
    // The patient is re-read from Semble, and its contact from HubSpot, before anything is decided.
    expect(vendorCalls.map((span) => span.attributes['patient_graph.vendor'])).toEqual(expect.arrayContaining(['semble', 'hubspot']));
    for (const call of vendorCalls) expect(call.spanContext().traceId).toBe(event.spanContext().traceId);
  });

  it("traces a bulk export as one operation under the client's traceparent, each page's Semble fetch its child", async () => {
    const EXPORT_TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
    const response = await fetch(`${new URL(stack.gateway.graphqlUrl).origin}/export`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}`, traceparent: `00-${EXPORT_TRACE_ID}-${CLIENT_SPAN_ID}-01` },
      body: JSON.stringify({ query: 'query ExportIds { patients { nodes { id } pageInfo { hasNextPage endCursor } } }', format: 'ndjson', pageSize: 10 }),
    });
    expect(response.status).toBe(200);
    const rows = (await response.text()).trim().split('\n');
    expect(rows).toHaveLength(30);

    const operation = await until('the export operation span', () =>
      spans().find((span) => span.spanContext().traceId === EXPORT_TRACE_ID && span.kind === SpanKind.SERVER && !span.attributes['patient_graph.subgraph']),
    );
    expect(operation.parentSpanContext?.spanId).toBe(CLIENT_SPAN_ID);
    expect(operation.attributes['url.path']).toBe('/export');
    // Three pages of ten: three Semble fetches, each under the export's span.
    const fetches = spans().filter((span) => span.name === 'subgraph.fetch semble' && span.spanContext().traceId === EXPORT_TRACE_ID);
    expect(fetches).toHaveLength(3);
    for (const fetchSpan of fetches) expect(descends(fetchSpan, operation)).toBe(true);
  });

  it('traces each event a subscriber receives as its own trace, with the lookup through the subgraphs as its children', async () => {
    const patient = stack.world.patients[5]!;
    const client = createClient({ url: stack.gateway.graphqlUrl.replace('http://', 'ws://'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${stack.token}` }, retryAttempts: 0 });
    const received: any[] = [];
    try {
      client.subscribe(
        { query: 'subscription Watch($patientId: ID) { syncEvents(patientId: $patientId) { id type patient { id fullName } } }', variables: { patientId: patient.id } },
        { next: (result) => void received.push(result), error: (error) => void received.push({ error }), complete: () => undefined },
      );
      // Subscribed once the gateway counts a subscriber (no event can be missed after that).
      await until('the subscription to start', async () => {
        const metrics = await fetch(`${new URL(stack.gateway.graphqlUrl).origin}/metrics`).then((response) => response.text());
        return /^gateway_subscriptions_active(?:\{[^}]*\})? [1-9]/m.test(metrics);
      });
      const response = await fetch(`${stack.emulators.semble}/__admin/patients/${patient.id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ firstName: 'Subscribed' }),
      });
      expect(response.ok).toBe(true);
      const event = await until('a sync event for the subscriber', () => received.find((result) => result.data?.syncEvents));
      expect(event.data.syncEvents.patient.id).toBe(patient.id);
    } finally {
      await client.dispose();
    }

    const eventSpan = await until('the subscription event span', () => spans().find((span) => span.name === 'graphql.subscription.event syncEvents'));
    expect(eventSpan.kind).toBe(SpanKind.CONSUMER);
    expect(eventSpan.parentSpanContext).toBeUndefined();
    expect(eventSpan.attributes['patient_graph.topic']).toEqual(expect.any(String));
    const lookups = () => spans().filter((span) => span.name.startsWith('subgraph.fetch ') && descends(span, eventSpan));
    // The lookup reads the event from the sync subgraph and the patient's name from Semble.
    await until('the lookup fetches under the event span', () => {
      const names = lookups().map((span) => span.name);
      return names.includes('subgraph.fetch sync') && names.includes('subgraph.fetch semble');
    });
  });

  it("traces each cascade delivery as its own trace, with the connector's attempt as its child", async () => {
    const created = await fetch(`${stack.emulators.semble}/__admin/patients`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ firstName: 'Traced', lastName: 'Cascade', email: 'traced.cascade@example.org' }),
    });
    expect(created.status).toBeLessThan(300);
    const { id } = (await created.json()) as { id: string };

    const step = await until('the welcome step span', () =>
      spans().find((span) => span.name === 'cascade.step welcome-email' && span.attributes['patient_graph.cascade.event_type'] === 'patient.created'),
    );
    expect(step.kind).toBe(SpanKind.CONSUMER);
    expect(step.parentSpanContext).toBeUndefined();
    const attempt = await until('the connector attempt under it', () => spans().find((span) => span.name === 'POST connector' && parentOf(span) === step));
    expect(attempt.attributes['patient_graph.outcome']).toBe('sent');
    // Ids and names of steps only: nothing of the patient.
    for (const span of [step, attempt]) {
      const attributes = JSON.stringify(span.attributes);
      for (const value of ['Traced', 'Cascade', 'traced.cascade@example.org', id]) expect(attributes).not.toContain(value);
    }
  });

  it('adds no trace id to errors or log lines once tracing is off', async () => {
    await tracing.shutdown();
    const linesBefore = logLines.length;
    const result = await post('query AfterShutdown($id: ID!) { patient(id: $id) { id payments { id } } }', { id: stack.world.patients[4]!.id }, { traceparent: TRACEPARENT });
    const failure = result.errors?.find((error) => error.extensions?.code === 'UPSTREAM_UNAVAILABLE');
    expect(failure).toBeDefined();
    expect(failure.extensions).not.toHaveProperty('traceId');
    const line = await until('the gateway log line', () =>
      logLines
        .slice(linesBefore)
        .map((text) => JSON.parse(text))
        .find((entry) => entry.msg === 'subgraph unavailable'),
    );
    expect(line).not.toHaveProperty('trace_id');
  });
});
