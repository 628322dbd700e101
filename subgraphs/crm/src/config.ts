/**
 * The crm subgraph's configuration: one zod schema, read from the environment once at start-up.
 * A bad value stops start-up with a message naming the environment variable.
 */
import { z } from 'zod';
import { envInt, parseConfig } from '../../../lib/config';
import { INTERNAL_TOKEN_SECRET_ENV, internalTokenSecretSchema } from '../../../lib/internal-identity';

const schema = z.object({
  /** Port the subgraph listens on. @default 4002 */
  port: z.number().int().min(0).max(65535).default(4002),
  /** Interface the subgraph listens on. @default 127.0.0.1 */
  host: z.string().min(1).default('127.0.0.1'),
  /** HubSpot API base URL: the emulator's by default, https://api.hubapi.com for the real one. */
  hubspotBaseUrl: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:4102'),
  /** HubSpot private-app token, sent as a Bearer token. */
  hubspotToken: z.string().min(1).default('hubspot-dev-token'),
  /** Per-attempt timeout of HubSpot calls. @default 10000 */
  timeoutMs: z.number().int().min(1).default(10_000),
  /** Verifies the gateway's internal identity tokens; a call without one is refused (lib/internal-identity.ts). */
  internalTokenSecret: internalTokenSecretSchema,
});

export type CrmConfig = z.infer<typeof schema>;

const ENV_KEYS: Record<keyof CrmConfig, string> = {
  port: 'PORT',
  host: 'HOST',
  hubspotBaseUrl: 'HUBSPOT_BASE_URL',
  hubspotToken: 'HUBSPOT_TOKEN',
  timeoutMs: 'HUBSPOT_TIMEOUT_MS',
  internalTokenSecret: INTERNAL_TOKEN_SECRET_ENV,
};

export function loadCrmConfig(env: NodeJS.ProcessEnv): CrmConfig {
  // An empty variable means "unset", so the default applies.
  const text = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);
  return parseConfig(
    schema,
    {
      port: envInt(env.PORT),
      host: text(env.HOST),
      hubspotBaseUrl: text(env.HUBSPOT_BASE_URL),
      hubspotToken: text(env.HUBSPOT_TOKEN),
      timeoutMs: envInt(env.HUBSPOT_TIMEOUT_MS),
      internalTokenSecret: text(env[INTERNAL_TOKEN_SECRET_ENV]),
    },
    {
      keyOf: (path) => ENV_KEYS[path[0] as keyof CrmConfig] ?? path.join('.'),
      secretKeys: [ENV_KEYS.hubspotToken, ENV_KEYS.internalTokenSecret],
    },
  );
}
