/**
 * `npm run token -- --role finance [--role marketing] [--subject alice] [--clinic dev-clinic]
 * [--ttl 12h]`: prints a development token (HS256, the way `npm start` signs the one it prints)
 * for roles of the gateway's authorisation table, so trying another role needs no JWT code.
 * The secret is AUTH_JWT_SECRET when set, else the running `npm start`'s, from the file it keeps
 * while it runs (lib/stack/dev-token.ts). Only the token goes to stdout:
 * `TOKEN=$(npm run -s token -- --role finance)`.
 * Exit codes: 2 bad usage (an unknown role, a bad TTL), 78 no secret to sign with.
 */
import fs from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DEV_CLINIC } from '../../gateway/src/auth/config';
import { fromRoot } from '../root';
import { DEV_IDENTITY, DEV_TOKEN_TTL_SECONDS, devAuthFile, devSigningSecret, signDevToken } from './dev-token';

const EXIT_USAGE = 2;
const EXIT_CONFIG = 78;
const MAX_TTL_SECONDS = 30 * 24 * 60 * 60;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 60 * 60, d: 24 * 60 * 60 };

/** The role names of the gateway's authorisation table (GATEWAY_CONFIG, as `npm start` passes it on). */
export function gatewayRoles(env: NodeJS.ProcessEnv): string[] {
  const file = env.GATEWAY_CONFIG || fromRoot('schema', 'gateway.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8')) as { authorization?: { roles?: Record<string, unknown> } };
  return Object.keys(config.authorization?.roles ?? {});
}

/** `90`, `90s`, `15m`, `12h`, `7d` → seconds, 1 s to 30 days. */
export function parseTtl(value: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value.trim());
  const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2] || 's']! : NaN;
  if (!(seconds >= 1 && seconds <= MAX_TTL_SECONDS)) throw new InvalidArgumentError(`expected a duration from 1s to 30d such as 90s, 15m, 12h or 7d, got ${JSON.stringify(value)}`);
  return seconds;
}

function main(argv: string[], env: NodeJS.ProcessEnv): number {
  const known = gatewayRoles(env);
  const parseRole = (value: string, previous: string[] = []) => {
    if (!known.includes(value)) throw new InvalidArgumentError(`expected one of ${known.join(', ')} (authorization.roles in the gateway config), got ${JSON.stringify(value)}`);
    return previous.includes(value) ? previous : [...previous, value];
  };
  const nonEmpty = (name: string) => (value: string) => {
    if (value.trim() === '') throw new InvalidArgumentError(`expected a ${name}, got an empty string`);
    return value;
  };
  const program = new Command('npm run token --')
    .description("Print a development token for the running `npm start`'s gateway (HS256, its AUTH_JWT_SECRET)")
    .requiredOption('--role <role>', `a role of the gateway's table, repeatable (${known.join(', ')})`, parseRole)
    .option('--subject <id>', 'the `sub` claim', nonEmpty('subject'), DEV_IDENTITY.subject)
    .option('--clinic <id>', 'the `clinic` claim: a clinic the gateway serves (AUTH_CLINICS)', nonEmpty('clinic id'), DEV_CLINIC)
    .addOption(new Option('--ttl <duration>', 'how long the token is valid: 90s, 15m, 12h, 7d').argParser(parseTtl).default(DEV_TOKEN_TTL_SECONDS, '12h'))
    .addHelpText('after', `\nThe secret: AUTH_JWT_SECRET when set, else the running \`npm start\`'s (${devAuthFile(env)}).`)
    .exitOverride();
  try {
    program.parse(argv, { from: 'node' });
  } catch (error) {
    // Commander has printed its message (or the help, exit code 0).
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_USAGE;
    throw error;
  }
  const options = program.opts<{ role: string[]; subject: string; clinic: string; ttl: number }>();

  const file = devAuthFile(env);
  const secret = devSigningSecret(env);
  if (secret === undefined) {
    console.error(`No secret to sign with: expected a running \`npm start\` (its ${file}) or AUTH_JWT_SECRET, found neither.`);
    return EXIT_CONFIG;
  }
  if (secret.length < 32) {
    console.error(`AUTH_JWT_SECRET: expected at least 32 characters (as the gateway requires), found ${secret.length}`);
    return EXIT_CONFIG;
  }
  console.log(signDevToken(secret, { subject: options.subject, roles: options.role, clinic: options.clinic }, options.ttl));
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv, process.env);
  } catch (error) {
    console.error(`npm run token: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
