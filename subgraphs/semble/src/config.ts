/**
 * The Semble subgraph's configuration: one zod schema, read from the environment by the
 * entrypoint only, validated once at start-up.
 */
import { z } from 'zod';
import { envInt, parseConfig } from '../../../lib/config';
import { INTERNAL_TOKEN_SECRET_ENV, internalTokenSecretSchema } from '../../../lib/internal-identity';

export const SembleConfigSchema = z.object({
  /** HTTP port of the subgraph. @default 4001 */
  port: z.number().int().min(0).max(65535).default(4001),
  /** Interface to listen on. @default 127.0.0.1 */
  host: z.string().min(1).default('127.0.0.1'),
  /** Semble's base URL (the client POSTs to `${baseUrl}/graphql`); the emulator by default. */
  baseUrl: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:4101'),
  /** Semble API token, sent as `x-token`. Secret: never printed. @default the emulator's dev token */
  token: z.string().min(1).default('semble-dev-token'),
  /** Abort one Semble request attempt after this many ms. @default 10000 */
  timeoutMs: z.number().int().positive().default(10_000),
  /** The practice's currency (Semble reports amounts without one). @default GBP */
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as GBP').default('GBP'),
  /** Verifies the gateway's internal identity tokens; a call without one is refused (lib/internal-identity.ts). */
  internalTokenSecret: internalTokenSecretSchema,
});

export type SembleConfig = z.infer<typeof SembleConfigSchema>;

const ENV_KEYS: Record<keyof SembleConfig, string> = {
  port: 'PORT',
  host: 'HOST',
  baseUrl: 'SEMBLE_BASE_URL',
  token: 'SEMBLE_TOKEN',
  timeoutMs: 'SEMBLE_TIMEOUT_MS',
  currency: 'PRACTICE_CURRENCY',
  internalTokenSecret: INTERNAL_TOKEN_SECRET_ENV,
};

export function loadSembleConfig(env: NodeJS.ProcessEnv): SembleConfig {
  const text = (key: string) => (env[key] === '' ? undefined : env[key]);
  return parseConfig(
    SembleConfigSchema,
    {
      port: envInt(env.PORT),
      host: text('HOST'),
      baseUrl: text('SEMBLE_BASE_URL'),
      token: text('SEMBLE_TOKEN'),
      timeoutMs: envInt(env.SEMBLE_TIMEOUT_MS),
      currency: text('PRACTICE_CURRENCY'),
      internalTokenSecret: text(INTERNAL_TOKEN_SECRET_ENV),
    },
    {
      keyOf: (path) => ENV_KEYS[path[0] as keyof SembleConfig] ?? path.join('.'),
      secretKeys: ['SEMBLE_TOKEN', INTERNAL_TOKEN_SECRET_ENV],
    },
  );
}
