/**
 * The entrypoint every vendor emulator shares: read PORT, HOST, SEED_PATIENTS, SEED and the
 * vendor's token (plus any settings of its own) from the environment, validate them, build the
 * seed world, start the emulator (on PORT_FALLBACK when PORT is taken and it is set), report
 * ready and stop on signals.
 */
import { z } from 'zod';
import { envInt, parseConfig } from './config';
import type { Listening } from './listen';
import { reportReady, runMain, startWithPortFallback, stopOnSignals } from './process';
import { createSeedWorld } from './seed';
import type { SeedWorld } from './seed';
import type { WebhookRetryOptions } from './webhooks/delivery';

export interface EmulatorBase {
  world: SeedWorld;
  token: string;
  port: number;
  host: string;
  /** Retry settings for the emulator's webhooks (a test stack shortens them). @default the sender's */
  webhookRetry?: WebhookRetryOptions;
}

export interface EmulatorEntrypoint<Extra extends z.ZodRawShape> {
  /** Name reported to the launcher, e.g. "hubspot-emulator". */
  name: string;
  defaultPort: number;
  /** The environment variable holding the token the emulator accepts, and its default. */
  tokenEnv: string;
  defaultToken: string;
  /**
   * Settings of this emulator only: a zod shape and the variable each is read from. Keys whose
   * schema is a string (optional or defaulted included) get the variable's text as is; others
   * go through envInt. `secrets` names keys whose values are never shown in error messages.
   */
  extra?: { shape: Extra; env: Record<keyof Extra & string, string>; secrets?: ReadonlyArray<keyof Extra & string> };
  start(base: EmulatorBase, extra: z.infer<z.ZodObject<Extra>>): Promise<Listening>;
}

/** Types an entrypoint (inferring its extras) so a main module can export it for tests as well as run it. */
export function defineEmulator<Extra extends z.ZodRawShape = Record<never, never>>(entry: EmulatorEntrypoint<Extra>): EmulatorEntrypoint<Extra> {
  return entry;
}

/** Whether a schema takes text (z.string(), z.url(), …), seen through optional/default/nullable wrappers. */
function isTextSchema(schema: unknown): boolean {
  let def = (schema as { _zod?: { def?: { type?: string; innerType?: unknown } } } | undefined)?._zod?.def;
  while (def && (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault')) {
    def = (def.innerType as { _zod?: { def?: { type?: string; innerType?: unknown } } } | undefined)?._zod?.def;
  }
  return def?.type === 'string';
}

/** An emulator's validated settings: the shared ones plus its own extras. */
export interface EmulatorConfig<Extra extends z.ZodRawShape> {
  port: number;
  host: string;
  patients: number;
  seed: number;
  token: string;
  extra: z.infer<z.ZodObject<Extra>>;
}

/** Read and validate an emulator's settings from `env`; throws a ConfigError naming the variable. */
export function readEmulatorConfig<Extra extends z.ZodRawShape = Record<never, never>>(
  entry: EmulatorEntrypoint<Extra>,
  env: Readonly<Record<string, string | undefined>>,
): EmulatorConfig<Extra> {
  const envKeys: Record<string, string> = { port: 'PORT', host: 'HOST', patients: 'SEED_PATIENTS', seed: 'SEED', token: entry.tokenEnv, ...entry.extra?.env };
  const schema = z.object({
    port: z.number().int().min(0).max(65535).default(entry.defaultPort),
    host: z.string().min(1).default('127.0.0.1'),
    patients: z.number().int().min(0).default(500),
    seed: z.number().int().default(42),
    token: z.string().min(1).default(entry.defaultToken),
    ...entry.extra?.shape,
  });
  const input: Record<string, unknown> = {
    port: envInt(env.PORT),
    host: env.HOST || undefined,
    patients: envInt(env.SEED_PATIENTS),
    seed: envInt(env.SEED),
    token: env[entry.tokenEnv] || undefined,
  };
  for (const [key, variable] of Object.entries(entry.extra?.env ?? {})) {
    const text = env[variable as string];
    // A secret such as "123456" must stay text; only numeric settings go through envInt.
    input[key] = isTextSchema(entry.extra?.shape[key]) ? text || undefined : envInt(text);
  }
  const secretKeys = [entry.tokenEnv, ...(entry.extra?.secrets ?? []).map((key) => entry.extra?.env[key] ?? key)];
  const config = parseConfig(schema, input, { keyOf: (path) => envKeys[String(path[0])] ?? path.join('.'), secretKeys }) as Record<string, unknown> & {
    port: number;
    host: string;
    patients: number;
    seed: number;
    token: string;
  };
  return { port: config.port, host: config.host, patients: config.patients, seed: config.seed, token: config.token, extra: config as unknown as z.infer<z.ZodObject<Extra>> };
}

export interface StartEmulatorOptions {
  /** The world to serve, shared by a stack's emulators in one process. @default built from SEED_PATIENTS and SEED */
  world?: SeedWorld;
  webhookRetry?: WebhookRetryOptions;
}

/** Start an emulator configured from `env` as its process is; throws a ConfigError naming the variable. */
export async function startEmulator<Extra extends z.ZodRawShape = Record<never, never>>(
  entry: EmulatorEntrypoint<Extra>,
  env: Readonly<Record<string, string | undefined>>,
  options: StartEmulatorOptions = {},
): Promise<Listening> {
  const config = readEmulatorConfig(entry, env);
  const world = options.world ?? createSeedWorld({ patients: config.patients, seed: config.seed });
  return entry.start({ world, token: config.token, port: config.port, host: config.host, webhookRetry: options.webhookRetry }, config.extra);
}

export function runEmulator<Extra extends z.ZodRawShape = Record<never, never>>(entry: EmulatorEntrypoint<Extra>): void {
  runMain(async () => {
    const emulator = await startWithPortFallback(process.env, (env) => startEmulator(entry, env));
    reportReady(entry.name, emulator.url);
    stopOnSignals(() => emulator.stop());
  });
}
