/**
 * The tracing settings a process reads from its environment: the standard OpenTelemetry
 * variables that decide whether traces are exported at all, where to, and under which service
 * name. Tracing is off unless an OTLP endpoint is set. The SDK reads the other standard OTEL_*
 * variables itself (README, "Tracing", lists the ones that apply).
 */
import { z } from 'zod';
import { envBool, parseConfig } from '../config';

const KEYS = {
  endpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
  tracesEndpoint: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  protocol: 'OTEL_EXPORTER_OTLP_PROTOCOL',
  tracesProtocol: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  serviceName: 'OTEL_SERVICE_NAME',
  disabled: 'OTEL_SDK_DISABLED',
} as const;

const httpUrl = z.url({ protocol: /^https?$/ });
/** grpc is not offered: the HTTP exporters need no native module and every collector speaks OTLP/HTTP. */
const protocol = z.enum(['http/protobuf', 'http/json']);

const schema = z.object({
  /**
   * OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL; traces go to `<endpoint>/v1/traces`.
   * Unset (and no traces endpoint): tracing is off, and the OpenTelemetry API's no-op tracer
   * makes every span a no-op.
   */
  endpoint: httpUrl.optional(),
  /** OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: the full URL traces are POSTed to; wins over the base endpoint. */
  tracesEndpoint: httpUrl.optional(),
  /** OTEL_EXPORTER_OTLP_PROTOCOL: how spans are encoded. @default 'http/protobuf' */
  protocol: protocol.default('http/protobuf'),
  /** OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: the same for traces only; wins over OTEL_EXPORTER_OTLP_PROTOCOL. */
  tracesProtocol: protocol.optional(),
  /** OTEL_SERVICE_NAME: the `service.name` of every span. @default the service's own name (gateway, semble, sync…) */
  serviceName: z.string().min(1).optional(),
  /** OTEL_SDK_DISABLED: true turns tracing off even with an endpoint set. @default false */
  disabled: z.boolean().default(false),
});

export interface TracingConfig {
  /** Where spans are POSTed; undefined when tracing is off. */
  tracesUrl?: string;
  protocol: 'http/protobuf' | 'http/json';
  serviceName: string;
}

/** The tracing settings from `env`; a bad value throws a ConfigError naming the variable. */
export function loadTracingConfig(env: NodeJS.ProcessEnv, defaultServiceName: string): TracingConfig {
  const blank = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());
  const parsed = parseConfig(
    schema,
    {
      endpoint: blank(env[KEYS.endpoint]),
      tracesEndpoint: blank(env[KEYS.tracesEndpoint]),
      protocol: blank(env[KEYS.protocol]),
      tracesProtocol: blank(env[KEYS.tracesProtocol]),
      serviceName: blank(env[KEYS.serviceName]),
      disabled: envBool(env[KEYS.disabled]),
    },
    { keyOf: (path) => KEYS[path[0] as keyof typeof KEYS] ?? path.join('.') },
  );
  const tracesUrl = parsed.disabled ? undefined : (parsed.tracesEndpoint ?? (parsed.endpoint ? `${parsed.endpoint.replace(/\/+$/, '')}/v1/traces` : undefined));
  return {
    ...(tracesUrl ? { tracesUrl } : {}),
    protocol: parsed.tracesProtocol ?? parsed.protocol,
    serviceName: parsed.serviceName ?? defaultServiceName,
  };
}
