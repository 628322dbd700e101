/**
 * `npm start`'s development tokens: HS256 with the run's AUTH_JWT_SECRET, the way the launcher
 * signs the token it prints and the way `npm run token` signs one for any roles. The launcher
 * keeps the secret in a file only its user can read (DEV_AUTH_FILE, default
 * `.sync-state/dev-auth.json`, mode 600) while it runs, and removes it on the way out; the token
 * CLI reads it there unless AUTH_JWT_SECRET is set.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEV_CLINIC } from '../../gateway/src/auth/config';
import { signToken } from '../../gateway/src/auth';
import { fromRoot } from '../root';

/** The variable that moves the launcher's auth file (tests keep it out of the checkout). */
export const DEV_AUTH_FILE_ENV = 'DEV_AUTH_FILE';

/** The identity of the token `npm start` prints: every role a person at a clinic may hold. */
export const DEV_IDENTITY = { subject: 'dev-user', roles: ['clinician', 'admin', 'marketing', 'finance'], clinic: DEV_CLINIC };

/** @default 12 hours, as the printed token */
export const DEV_TOKEN_TTL_SECONDS = 12 * 60 * 60;

export interface DevIdentity {
  subject: string;
  roles: string[];
  clinic: string;
}

/** A development token for `identity`, expiring in `ttlSeconds`. */
export function signDevToken(secret: string, identity: DevIdentity, ttlSeconds: number = DEV_TOKEN_TTL_SECONDS): string {
  return signToken(secret, identity, { expiresIn: ttlSeconds });
}

export const devAuthFile = (env: NodeJS.ProcessEnv) => path.resolve(env[DEV_AUTH_FILE_ENV] || fromRoot('.sync-state', 'dev-auth.json'));

/** Writes the run's secret for `npm run token`; a failure costs only that (said once). */
export function writeDevAuthFile(env: NodeJS.ProcessEnv, secret: string): string | undefined {
  const file = devAuthFile(env);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // writeFileSync's mode applies only to a file it creates: a left-over file is replaced.
    fs.rmSync(file, { force: true });
    fs.writeFileSync(file, `${JSON.stringify({ secret })}\n`, { mode: 0o600 });
    return file;
  } catch (error) {
    console.error(`Could not write ${file} (${(error as Error).message}): \`npm run token\` will need AUTH_JWT_SECRET.`);
    return undefined;
  }
}

/** Removes the file if it is still ours (a later `npm start` may have taken it over). */
export function removeDevAuthFile(file: string, secret: string): void {
  try {
    if ((JSON.parse(fs.readFileSync(file, 'utf8')) as { secret?: unknown }).secret === secret) fs.rmSync(file);
  } catch {
    // Already gone, or not ours to judge.
  }
}

/** The secret a running `npm start` left in `file`, or undefined when there is none to read. */
export function readDevAuthFile(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const { secret } = JSON.parse(text) as { secret?: unknown };
    return typeof secret === 'string' ? secret : undefined;
  } catch {
    return undefined;
  }
}

/** The secret development tokens are signed with: AUTH_JWT_SECRET when set, else the running `npm start`'s. */
export function devSigningSecret(env: NodeJS.ProcessEnv): string | undefined {
  return env.AUTH_JWT_SECRET || readDevAuthFile(devAuthFile(env));
}
