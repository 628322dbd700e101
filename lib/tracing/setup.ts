/**
 * Starts the OpenTelemetry SDK for one process (each entrypoint calls startTracing once) and
 * stops it again. Off unless an OTLP endpoint is configured (or a test hands in an exporter):
 * then nothing is registered, the API stays on its no-op tracer, and spans cost next to nothing.
 * On, the process gets a tracer provider with an AsyncLocalStorage context manager and the W3C
 * trace-context propagator (`traceparent`), so spans started anywhere below find their parent.
 */
import { context, diag, DiagLogLevel, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import type { SpanExporter } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Logger } from '../logger';
import type { TracingConfig } from './config';

export interface Tracing {
  /** Whether spans are recorded and exported. */
  readonly enabled: boolean;
  /** Export what is still buffered, then put the API back on its no-op tracer. Safe to call twice. */
  shutdown(): Promise<void>;
}

export interface StartTracingOptions {
  /**
   * Spans go here, each as soon as it ends, instead of to the OTLP endpoint (tests use an
   * InMemorySpanExporter). Turns tracing on without an endpoint.
   */
  exporter?: SpanExporter;
  /** Where the SDK's own warnings go (an unreachable collector, a dropped batch). @default silent */
  logger?: Logger;
}

const OFF: Tracing = { enabled: false, shutdown: async () => undefined };

export function startTracing(config: TracingConfig, options: StartTracingOptions = {}): Tracing {
  if (!config.tracesUrl && !options.exporter) return OFF;
  if (options.logger) {
    const logger = options.logger;
    diag.setLogger(
      {
        error: (message) => logger.warn({ component: 'opentelemetry' }, message),
        warn: (message) => logger.warn({ component: 'opentelemetry' }, message),
        info: () => undefined,
        debug: () => undefined,
        verbose: () => undefined,
      },
      DiagLogLevel.WARN,
    );
  }
  // OTEL_RESOURCE_ATTRIBUTES (envDetector) adds to the resource; the service name set here wins.
  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName }));
  const processor = options.exporter
    ? new SimpleSpanProcessor(options.exporter)
    : // Batches, sized and timed by the OTEL_BSP_* variables the SDK reads.
      new BatchSpanProcessor(
        config.protocol === 'http/json' ? new OTLPJsonTraceExporter({ url: config.tracesUrl }) : new OTLPProtoTraceExporter({ url: config.tracesUrl }),
      );
  // The sampler comes from OTEL_TRACES_SAMPLER (default: parentbased_always_on), read by the SDK.
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    shutdown() {
      stopped ??= provider.shutdown().finally(() => {
        trace.disable();
        context.disable();
        propagation.disable();
        diag.disable();
      });
      return stopped;
    },
  };
}
