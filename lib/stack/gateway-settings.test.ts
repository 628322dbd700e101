/**
 * Settings given to `npm start` reach the gateway it starts: the operation limits, CORS, the
 * WebSocket and HTTP bounds, as the README lists them; what is not a gateway setting does not.
 * The OpenTelemetry settings reach every traced service, each under its own service name.
 */
import { patientGraphServices } from './patient-graph';

function gatewayEnv(env: NodeJS.ProcessEnv, developmentToken?: string): Record<string, string | undefined> {
  const gateway = patientGraphServices({ gatewayPort: 0, jwtSecret: 'x'.repeat(32), developmentToken, seedPatients: 10, env })
    .flat()
    .find((service) => service.name === 'gateway');
  // The URLs of the services started before it, as the launcher hands them over.
  return gateway!.env({ sync: 'http://127.0.0.1:4005/graphql' });
}

describe("npm start's gateway", () => {
  it('gets the limits, CORS, WebSocket, HTTP, rate-limit and IDE settings it was started with, and nothing else', () => {
    const env = gatewayEnv({
      LIMIT_MAX_DEPTH: '7',
      LIMIT_MAX_COST: '50000',
      CORS_ORIGINS: 'https://app.example',
      CORS_CREDENTIALS: 'true',
      CORS_MAX_AGE_SECONDS: '120',
      WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '5',
      BODY_LIMIT: '200kb',
      HTTP_HEADERS_TIMEOUT_MS: '5000',
      RATE_LIMIT_COST_PER_SUBJECT: '0',
      IDE_ENABLED: 'false',
      SOMETHING_ELSE: 'x',
    });
    expect(env).toEqual(
      expect.objectContaining({
        LIMIT_MAX_DEPTH: '7',
        LIMIT_MAX_COST: '50000',
        CORS_ORIGINS: 'https://app.example',
        CORS_CREDENTIALS: 'true',
        CORS_MAX_AGE_SECONDS: '120',
        WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '5',
        BODY_LIMIT: '200kb',
        HTTP_HEADERS_TIMEOUT_MS: '5000',
        RATE_LIMIT_COST_PER_SUBJECT: '0',
        IDE_ENABLED: 'false',
      }),
    );
    expect(env.SOMETHING_ELSE).toBeUndefined();
  });

  it("gets the launcher's development token for the IDE with the development auth only", () => {
    expect(gatewayEnv({}, 'dev-token').IDE_DEV_TOKEN).toBe('dev-token');
    expect(gatewayEnv({ AUTH_MODE: 'jwt' }, 'dev-token').IDE_DEV_TOKEN).toBe('dev-token');
    expect(gatewayEnv({ AUTH_MODE: 'oidc', AUTH_ISSUER: 'https://login.example.org/' }, 'dev-token').IDE_DEV_TOKEN).toBeUndefined();
    // Not a setting a caller passes through: only the launcher's own token goes.
    expect(gatewayEnv({ IDE_DEV_TOKEN: 'from-outside' }).IDE_DEV_TOKEN).toBeUndefined();
  });

  it('gets the OpenTelemetry settings, named gateway whatever OTEL_SERVICE_NAME the stack was given', () => {
    const env = gatewayEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_SERVICE_NAME: 'the-whole-stack',
    });
    expect(env).toEqual(
      expect.objectContaining({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
        OTEL_SERVICE_NAME: 'gateway',
      }),
    );
  });

  it("names each subgraph's and the sync service's spans after the service", () => {
    const services = patientGraphServices({ gatewayPort: 0, jwtSecret: 'x'.repeat(32), seedPatients: 10, env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' } }).flat();
    const urls = Object.fromEntries(services.map((service) => [service.name, `http://127.0.0.1:1/${service.name}`]));
    const semble = services.find((service) => service.name === 'semble')!.env(urls);
    const sync = services.find((service) => service.name === 'sync')!.env(urls);
    expect(semble).toEqual(expect.objectContaining({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SERVICE_NAME: 'semble' }));
    expect(sync).toEqual(expect.objectContaining({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SERVICE_NAME: 'sync' }));
  });
});
