/**
 * `npm run token` as a process: a token the gateway's own authenticator accepts with the roles,
 * subject, clinic and expiry asked for, signed with AUTH_JWT_SECRET or the running `npm start`'s
 * secret from its auth file; misuse exits 2 naming the bad value and what is allowed.
 * Runs the compiled CLI: `npm test` builds first.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAuthenticator } from '../../gateway/src/auth';
import { authConfigSchema } from '../../gateway/src/auth/config';
import { fromRoot } from '../root';
import { devAuthFile, removeDevAuthFile, writeDevAuthFile } from './dev-token';
import { gatewayRoles } from './token';

const CLI = fromRoot('dist/lib/stack/token.js');
const SECRET = 'a-development-secret-of-32-characters-or-more';
const ROLES = ['clinician', 'admin', 'marketing', 'finance', 'analyst', 'integration'];
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'token-cli-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it first)`);
  const base: NodeJS.ProcessEnv = { ...process.env, DEV_AUTH_FILE: path.join(dir, 'absent.json') };
  for (const key of ['AUTH_JWT_SECRET', 'GATEWAY_CONFIG']) delete base[key];
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

/** The gateway's own check, as `npm start` configures it (jwt mode, the role table of schema/gateway.json). */
const authenticate = (secret: string) =>
  createAuthenticator(authConfigSchema.parse({ mode: 'jwt', secret }), { roles: gatewayRoles({}) });

it('reads the role table the gateway reads', () => {
  expect(gatewayRoles({})).toEqual(ROLES);
});

it('prints only a token the gateway accepts, with the roles, subject, clinic and expiry asked for', async () => {
  const before = Date.now();
  const { code, stdout, stderr } = await runCli(['--role', 'finance', '--role', 'marketing', '--subject', 'alice', '--clinic', 'dev-clinic', '--ttl', '15m'], { AUTH_JWT_SECRET: SECRET });
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  const result = await authenticate(SECRET)(`Bearer ${stdout.trim()}`);
  expect(result).toEqual({ ok: true, identity: { subject: 'alice', roles: ['finance', 'marketing'], clinic: 'dev-clinic', expiresAt: expect.any(Number) } });
  const { expiresAt } = (result as { identity: { expiresAt: number } }).identity;
  expect(expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 15 * 60_000);
  expect(expiresAt).toBeLessThanOrEqual(Date.now() + 15 * 60_000);
  // Another secret's gateway refuses it.
  expect(await authenticate('x'.repeat(32))(`Bearer ${stdout.trim()}`)).toEqual({ ok: false, reason: 'invalid token: invalid signature' });
});

it("defaults to npm start's subject, clinic and 12 h, signed with the running npm start's secret from its auth file", async () => {
  const env = { DEV_AUTH_FILE: path.join(dir, 'state', 'dev-auth.json') };
  const file = writeDevAuthFile(env, SECRET)!;
  expect(file).toBe(devAuthFile(env));
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  const { code, stdout } = await runCli(['--role', 'analyst'], env);
  expect(code).toBe(0);
  const result = await authenticate(SECRET)(`Bearer ${stdout.trim()}`);
  expect(result).toMatchObject({ ok: true, identity: { subject: 'dev-user', roles: ['analyst'], clinic: 'dev-clinic' } });
  expect((result as { identity: { expiresAt: number } }).identity.expiresAt).toBeGreaterThan(Date.now() + 12 * 3_600_000 - 60_000);

  // A later run's file is not the first run's to remove; its own is.
  removeDevAuthFile(file, 'another-secret');
  expect(fs.existsSync(file)).toBe(true);
  removeDevAuthFile(file, SECRET);
  expect(fs.existsSync(file)).toBe(false);
});

it('refuses a role the gateway does not know with exit code 2, naming it and the roles there are', async () => {
  const { code, stdout, stderr } = await runCli(['--role', 'finance', '--role', 'root'], { AUTH_JWT_SECRET: SECRET });
  expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
  expect(stderr).toContain(`argument 'root' is invalid. expected one of ${ROLES.join(', ')} (authorization.roles in the gateway config), got "root"`);
});

it.each([
  [[], "required option '--role <role>' not specified"],
  [['--role', 'admin', '--ttl', '0'], 'expected a duration from 1s to 30d such as 90s, 15m, 12h or 7d, got "0"'],
  [['--role', 'admin', '--ttl', '31d'], 'got "31d"'],
  [['--role', 'admin', '--subject', ''], 'expected a subject, got an empty string'],
  [['--role', 'admin', '--audience', 'x'], "unknown option '--audience'"],
])('exits 2 on bad usage: %j', async (args, message) => {
  const { code, stderr } = await runCli(args, { AUTH_JWT_SECRET: SECRET });
  expect({ code, stderr }).toEqual({ code: 2, stderr: expect.stringContaining(message) });
});

it('says where it looked when there is no secret (no npm start running, no AUTH_JWT_SECRET), exit code 78', async () => {
  const { code, stdout, stderr } = await runCli(['--role', 'admin']);
  expect({ code, stdout }).toEqual({ code: 78, stdout: '' });
  expect(stderr).toContain(`expected a running \`npm start\` (its ${path.join(dir, 'absent.json')}) or AUTH_JWT_SECRET, found neither`);
});

it('refuses a secret the gateway would refuse', async () => {
  const { code, stderr } = await runCli(['--role', 'admin'], { AUTH_JWT_SECRET: 'short' });
  expect({ code, stderr }).toEqual({ code: 78, stderr: expect.stringContaining('AUTH_JWT_SECRET: expected at least 32 characters') });
});
