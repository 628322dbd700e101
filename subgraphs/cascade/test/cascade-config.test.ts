/**
 * The cascade file is validated once at start and every problem is named by its path, with what
 * was expected: a template that would hand a connector a field outside its allow-list (a PHI
 * leak) is refused, as are unknown connectors, fields and event types, and unset variables.
 * The committed default file is valid and builds every connector.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../../lib/config';
import { fromRoot } from '../../../lib/root';
import { loadCascadeFile, parseCascadeFile } from '../src/cascade-config';
import { EVENT_FIELDS } from '../src/events';
import { buildConnectors } from '../src/server';

const problemsOf = (run: () => unknown): string[] => {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

const VALID = {
  connectors: { analytics: { kind: 'ga4', fields: ['patientId'] }, mail: { kind: 'webhook', fields: ['patientId', 'firstName'] } },
  steps: [{ name: 'welcome', on: 'patient.created', connector: 'mail', template: 'Hello {{firstName}}' }],
};

describe('the cascade file', () => {
  it('refuses a template that uses a field its connector may not receive, naming the step and the allow-list', () => {
    const file = { ...VALID, steps: [{ name: 'count', on: 'patient.created', connector: 'analytics', template: 'New: {{email}}' }] };
    expect(problemsOf(() => parseCascadeFile(file, 'cascade.json'))).toEqual([
      `cascade.json: steps[0].template: expected placeholders among connector analytics's fields (patientId), not {{email}}, found "New: {{email}}"`,
    ]);
  });

  it('names an unknown event type, connector and field', () => {
    const badEvent = { ...VALID, steps: [{ name: 'a', on: 'patient.exploded', connector: 'mail' }] };
    expect(problemsOf(() => parseCascadeFile(badEvent, 'cascade.json'))).toEqual([expect.stringMatching(/^cascade\.json: steps\[0\]\.on: expected one of "patient\.created", .*, found "patient\.exploded"$/)]);
    const file = { connectors: { mail: { kind: 'webhook', fields: ['patientId', 'shoeSize'] } }, steps: [{ name: 'a', on: 'patient.created', connector: 'sms' }] };
    expect(problemsOf(() => parseCascadeFile(file, 'cascade.json'))).toEqual([
      expect.stringMatching(/^cascade\.json: connectors\.mail\.fields\[1\]: expected one of the event fields \(patientId, .*\), found "shoeSize"$/),
      'cascade.json: steps[0].connector: expected one of the connectors (mail), found "sms"',
    ]);
  });

  it('refuses a delay on an immediate step and a repeated step name', () => {
    const file = { ...VALID, steps: [...VALID.steps, { name: 'welcome', on: 'patient.created', connector: 'mail', delayMs: 5 }] };
    expect(problemsOf(() => parseCascadeFile(file, 'f'))).toEqual([
      'f: steps[1].name: expected a step name not used by an earlier step, found "welcome"',
      'f: steps[1].delayMs: expected no delay on an immediate step (use stage "short-term"), found 5',
    ]);
  });

  it('fills ${NAME:-default} from the environment and names a variable that is unset without a default', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cascade-config-'));
    const file = path.join(dir, 'cascade.json');
    fs.writeFileSync(file, JSON.stringify({ ...VALID, steps: [{ ...VALID.steps[0], stage: 'short-term', delayMs: '${WELCOME_DELAY:-250}' }], delivery: { maxAttempts: '${ATTEMPTS}' } }));
    expect(problemsOf(() => loadCascadeFile(file, {}))).toEqual([`${file}: delivery.maxAttempts: expected the variable ATTEMPTS to be set (or a default, \${ATTEMPTS:-…}), found nothing (unset)`]);
    const loaded = loadCascadeFile(file, { ATTEMPTS: '4' });
    expect(loaded.steps[0]?.delayMs).toBe(250);
    expect(loaded.delivery.maxAttempts).toBe(4);
    expect(loadCascadeFile(file, { ATTEMPTS: '4', WELCOME_DELAY: '9' }).steps[0]?.delayMs).toBe(9);
    fs.rmSync(dir, { recursive: true });
  });

  it('the committed default is valid, wires every event type, builds every connector, and gives analytics no PHI', () => {
    const file = loadCascadeFile(fromRoot('subgraphs', 'cascade', 'cascade.json'), {});
    expect(new Set(file.steps.map((step) => step.on))).toEqual(new Set(Object.keys(EVENT_FIELDS)));
    const connectors = buildConnectors(file, {});
    expect([...connectors.keys()].sort()).toEqual(Object.keys(file.connectors).sort());
    for (const field of ['firstName', 'lastName', 'fullName', 'email', 'phone', 'dateOfBirth']) expect(file.connectors.analytics?.fields).not.toContain(field);
    expect(file.steps.filter((step) => step.marketing).map((step) => step.name)).toEqual(['marketing-sequence']);
  });
});
