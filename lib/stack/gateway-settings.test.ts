/**
 * Settings given to `npm start` reach the gateway it starts: the operation limits, CORS, the
 * WebSocket and HTTP bounds, as the README lists them; what is not a gateway setting does not.
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
});
