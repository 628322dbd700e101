/**
 * The payments subgraph's configuration: one zod schema, read from the environment once by
 * main.ts. Messages name the environment variable, never print the secret key.
 */
import { z } from 'zod';
import { envInt, parseConfig } from '../../../lib/config';

const ENV_KEYS = {
  port: 'PORT',
  host: 'HOST',
  stripeBaseUrl: 'STRIPE_BASE_URL',
  stripeSecretKey: 'STRIPE_SECRET_KEY',
  timeoutMs: 'STRIPE_TIMEOUT_MS',
  searchMaxClauses: 'STRIPE_SEARCH_MAX_CLAUSES',
  goCardlessBaseUrl: 'GOCARDLESS_BASE_URL',
  goCardlessAccessToken: 'GOCARDLESS_ACCESS_TOKEN',
  goCardlessTimeoutMs: 'GOCARDLESS_TIMEOUT_MS',
} as const;

const schema = z.object({
  /** Port the subgraph listens on. @default 4003 */
  port: z.number().int().min(0).max(65535).default(4003),
  /** @default 127.0.0.1 */
  host: z.string().min(1).default('127.0.0.1'),
  /** Stripe's API, or the emulator. @default http://127.0.0.1:4103 */
  stripeBaseUrl: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:4103'),
  /** Secret key, `sk_…`. @default sk_test_patientgraph (the emulator's) */
  stripeSecretKey: z.string().min(1).default('sk_test_patientgraph'),
  /** Per-attempt timeout of a Stripe request. @default 10000 */
  timeoutMs: z.number().int().min(1).default(10_000),
  /** Clauses per Stripe search query (Stripe allows 10). @default 10 */
  searchMaxClauses: z.number().int().min(1).max(100).default(10),
  /** GoCardless's API, or the emulator. @default http://127.0.0.1:4106 */
  goCardlessBaseUrl: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:4106'),
  /** Access token. @default gocardless-dev-token (the emulator's) */
  goCardlessAccessToken: z.string().min(1).default('gocardless-dev-token'),
  /** Per-attempt timeout of a GoCardless request. @default 10000 */
  goCardlessTimeoutMs: z.number().int().min(1).default(10_000),
});

export type PaymentsConfig = z.infer<typeof schema>;

export function loadPaymentsConfig(env: NodeJS.ProcessEnv): PaymentsConfig {
  return parseConfig(
    schema,
    {
      port: envInt(env.PORT),
      host: env.HOST || undefined,
      stripeBaseUrl: env.STRIPE_BASE_URL || undefined,
      stripeSecretKey: env.STRIPE_SECRET_KEY || undefined,
      timeoutMs: envInt(env.STRIPE_TIMEOUT_MS),
      searchMaxClauses: envInt(env.STRIPE_SEARCH_MAX_CLAUSES),
      goCardlessBaseUrl: env.GOCARDLESS_BASE_URL || undefined,
      goCardlessAccessToken: env.GOCARDLESS_ACCESS_TOKEN || undefined,
      goCardlessTimeoutMs: envInt(env.GOCARDLESS_TIMEOUT_MS),
    },
    { keyOf: (path) => ENV_KEYS[path[0] as keyof typeof ENV_KEYS] ?? path.join('.'), secretKeys: ['STRIPE_SECRET_KEY', 'GOCARDLESS_ACCESS_TOKEN'] },
  );
}
