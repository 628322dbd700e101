/**
 * The entrypoint every vendor emulator shares: read PORT, HOST, SEED_PATIENTS, SEED and the
 * vendor's token (plus any settings of its own) from the environment, validate them, build the
 * seed world, start the emulator, report ready and stop on signals.
 */
import { z } from 'zod';
import { envInt, parseConfig } from './config';
import type { Listening } from './listen';
import { reportReady, runMain, stopOnSignals } from './process';
import { createSeedWorld } from './seed';
import type { SeedWorld } from './seed';

export interface EmulatorBase {
  world: SeedWorld;
  token: string;
  port: number;
  host: string;
}

export interface EmulatorEntrypoint<Extra extends z.ZodRawShape> {
  /** Name reported to the launcher, e.g. "hubspot-emulator". */
  name: string;
  defaultPort: number;
  /** The environment variable holding the token the emulator accepts, and its default. */
  tokenEnv: string;
  defaultToken: string;
  /** Settings of this emulator only: a zod shape of integers and the variable each is read from. */
  extra?: { shape: Extra; env: Record<keyof Extra & string, string> };
  start(base: EmulatorBase, extra: z.infer<z.ZodObject<Extra>>): Promise<Listening>;
}

export function runEmulator<Extra extends z.ZodRawShape = Record<never, never>>(entry: EmulatorEntrypoint<Extra>): void {
  runMain(async () => {
    const env = process.env;
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
    for (const [key, variable] of Object.entries(entry.extra?.env ?? {})) input[key] = envInt(env[variable as string]);
    const config = parseConfig(schema, input, { keyOf: (path) => envKeys[String(path[0])] ?? path.join('.'), secretKeys: [entry.tokenEnv] }) as Record<string, unknown> & {
      port: number;
      host: string;
      patients: number;
      seed: number;
      token: string;
    };
    const world = createSeedWorld({ patients: config.patients, seed: config.seed });
    const emulator = await entry.start({ world, token: config.token, port: config.port, host: config.host }, config as unknown as z.infer<z.ZodObject<Extra>>);
    reportReady(entry.name, emulator.url);
    stopOnSignals(() => emulator.stop());
  });
}
