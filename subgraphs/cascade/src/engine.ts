/**
 * The cascade engine: turns a domain event into its configured steps and delivers each one, at
 * least once, through its connector.
 *
 *   accept(event)  one StepRecord per matching step, keyed `${eventId}:${step}` (create-if-absent:
 *                  the same event accepted twice makes nothing new), put in the due-time queue;
 *                  an immediate step also goes straight onto the outbox topic.
 *   scheduler      every pollIntervalMs takes the steps that came due (retries, short-term steps,
 *                  breakers to try again) from the store's due-time queue and puts them on the
 *                  outbox topic. Taking one also re-queues it `requeueAfterMs` later, so a step
 *                  whose deliverer dies is not lost. Nothing ever sleeps on a consumer.
 *   deliverer      the outbox topic's consumer group (any number of replicas share it): leases the
 *                  step, checks consent for marketing steps, sends through the connector's
 *                  circuit breaker, and records the outcome: SENT; FAILED with the next attempt
 *                  (backoff with jitter, never before Retry-After); DEAD after maxAttempts or an
 *                  outcome that retrying cannot fix. A step already SENT is never sent again.
 *   breakers       one per connector (cockatiel ConsecutiveBreaker) in each process: while open,
 *                  steps wait for half-open (not an attempt, never dead for it).
 *   redrive        DEAD steps back to PENDING with fresh attempts; they deliver once.
 *
 * Every state change is published on `cascade-steps` (ids, names, states, codes: never a field
 * value), which Subscription.cascadeSteps follows.
 */
import { ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
import { BrokenCircuitError, circuitBreaker, ConsecutiveBreaker, handleWhen, IsolatedCircuitError } from 'cockatiel';
import type { CircuitBreakerPolicy } from 'cockatiel';
import type { EventBus, Unsubscribe } from '../../../lib/event-bus';
import { inSpan } from '../../../lib/tracing/spans';
import type { Logger } from '../../../lib/logger';
import { retryDelayMs } from './backoff';
import type { CascadeFile, StepConfig } from './cascade-config';
import type { ConsentLookup } from './consent';
import type { Connector, DeliveryOutcome } from './connectors/types';
import { CASCADE_OUTBOX_TOPIC, CASCADE_STEPS_TOPIC, pickFields } from './events';
import type { CascadeEvent } from './events';
import type { CascadeStore, StepError, StepRecord, StepUpdate } from './store/types';
import { TERMINAL_STATES } from './store/types';
import { renderTemplate } from './template';

export const DELIVERY_GROUP = 'cascade-delivery';

/** Payload of an outbox message: which step is due. */
export interface OutboxPayload {
  id: string;
}

/** Payload of a `cascade-steps` event: one step's change, PHI-free. */
export interface StepChangePayload {
  id: string;
  patientId: string | null;
  eventId: string;
  eventType: string;
  step: string;
  connector: string;
  state: StepRecord['state'];
  attempts: number;
  errorCode: string | null;
  time: string;
}

export interface CascadeEngineOptions {
  /** Carries the outbox topic (and, unless `changes` is given, the step changes). */
  bus: EventBus;
  /** Where `cascade-steps` changes go, when not on `bus` (the shared bus the gateway follows). @default bus */
  changes?: EventBus;
  store: CascadeStore;
  file: CascadeFile;
  /** Connector name → connector, for every connector of the file. */
  connectors: ReadonlyMap<string, Connector>;
  consent: ConsentLookup;
  logger: Logger;
  /** This process's name in the delivery consumer group and on step leases. */
  consumer: string;
  /** How often the scheduler looks for steps that came due. @default 250 */
  pollIntervalMs?: number;
  /** An outbox message not acknowledged within this goes to another deliverer. @default 30000 */
  claimAfterMs?: number;
  /** @default Date.now */
  now?: () => number;
  /** @default Math.random (backoff jitter) */
  random?: () => number;
}

export interface CascadeEngine {
  /** The event's steps, created (or found, when the event was accepted before) and queued. */
  accept(event: CascadeEvent): Promise<StepRecord[]>;
  /** Start the deliverer and the scheduler. */
  start(): Promise<void>;
  /** Put DEAD steps (these ids, or every one when `ids` is absent) back to deliver; returns the steps redriven. */
  redrive(ids?: readonly string[]): Promise<StepRecord[]>;
  /** A connector breaker's state, for tests and /metrics: closed, open, half-open. */
  breakerState(connector: string): 'closed' | 'open' | 'half-open' | 'unknown';
  stop(): Promise<void>;
}

/** A retry outcome, thrown inside the breaker so it counts as a failure there. */
class RetryOutcome extends Error {
  constructor(readonly outcome: Extract<DeliveryOutcome, { status: 'retry' }>) {
    super(outcome.reason);
  }
}

/** A stable code for an outcome: HTTP_<status>, or what the reason says when there was no response. */
function errorOf(outcome: Exclude<DeliveryOutcome, { status: 'sent' }>): StepError {
  const code = outcome.httpStatus ? `HTTP_${outcome.httpStatus}` : outcome.status === 'failed' ? 'REJECTED' : /timeout|abort/i.test(outcome.reason) ? 'TIMEOUT' : 'UNREACHABLE';
  return { code, reason: outcome.reason, ...(outcome.httpStatus ? { httpStatus: outcome.httpStatus } : {}) };
}

export function createCascadeEngine(options: CascadeEngineOptions): CascadeEngine {
  const { bus, store, file, connectors, logger, consumer } = options;
  const settings = file.delivery;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const claimAfterMs = options.claimAfterMs ?? 30_000;
  // A due step handed to the outbox comes due again after this unless it is settled first.
  const requeueAfterMs = Math.max(claimAfterMs, settings.timeoutMs * 2);
  const leaseMs = settings.timeoutMs + 5000;
  const iso = (ms: number) => new Date(ms).toISOString();

  const breakers = new Map<string, CircuitBreakerPolicy>();
  for (const name of connectors.keys()) {
    breakers.set(
      name,
      circuitBreaker(
        handleWhen((error) => error instanceof RetryOutcome),
        { halfOpenAfter: settings.breakerHalfOpenAfterMs, breaker: new ConsecutiveBreaker(settings.breakerThreshold) },
      ),
    );
  }

  async function publishChange(record: StepRecord): Promise<void> {
    const payload: StepChangePayload = {
      id: record.id,
      patientId: record.patientId,
      eventId: record.eventId,
      eventType: record.eventType,
      step: record.step,
      connector: record.connector,
      state: record.state,
      attempts: record.attempts,
      errorCode: record.lastError?.code ?? null,
      time: record.updatedAt,
    };
    await (options.changes ?? bus).publish({ topic: CASCADE_STEPS_TOPIC, type: `cascade.step.${record.state.toLowerCase()}`, payload }).catch((error: Error) => {
      // The store holds the truth; a lost notification only delays a subscriber's view.
      logger.warn({ step: record.step, err: error.message }, 'could not publish a step change');
    });
  }

  async function enqueue(id: string): Promise<void> {
    await bus.publish<OutboxPayload>({ topic: CASCADE_OUTBOX_TOPIC, type: 'cascade.step.due', payload: { id } });
  }

  function newRecord(event: CascadeEvent, step: StepConfig, at: number): StepRecord {
    const connector = file.connectors[step.connector];
    if (!connector) throw new Error(`step ${step.name}: no connector ${step.connector}`);
    const fields = pickFields(event.fields, connector.fields);
    const skipped: StepError | null = !step.enabled
      ? { code: 'STEP_DISABLED', reason: 'the step is switched off in the configuration' }
      : !connector.enabled
        ? { code: 'CONNECTOR_DISABLED', reason: `connector ${step.connector} is switched off in the configuration` }
        : null;
    const dueAt = at + (step.stage === 'short-term' ? step.delayMs : 0);
    return {
      id: `${event.id}:${step.name}`,
      eventId: event.id,
      eventType: event.type,
      occurredAt: event.occurredAt,
      patientId: event.patientId,
      step: step.name,
      connector: step.connector,
      kind: connector.kind,
      stage: step.stage,
      marketing: step.marketing,
      state: skipped ? 'SKIPPED' : 'PENDING',
      attempts: 0,
      lastError: skipped,
      nextAttemptAt: skipped ? null : iso(dueAt),
      sentAt: null,
      deadAt: null,
      redrives: 0,
      externalId: null,
      createdAt: iso(at),
      updatedAt: iso(at),
      message: { fields, ...(step.template !== undefined ? { text: renderTemplate(step.template, fields) } : {}), options: step.options },
    };
  }

  async function accept(event: CascadeEvent): Promise<StepRecord[]> {
    const at = now();
    const records: StepRecord[] = [];
    for (const step of file.steps.filter((candidate) => candidate.on === event.type)) {
      const { record, created } = await store.create(newRecord(event, step, at));
      records.push(record);
      if (!created || record.state !== 'PENDING') {
        if (created) await publishChange(record);
        continue;
      }
      const dueAt = Date.parse(record.nextAttemptAt as string);
      // Queued first, so a crash before the outbox publish still delivers it (from the queue).
      await store.schedule(record.id, dueAt <= at ? at + requeueAfterMs : dueAt);
      await publishChange(record);
      if (dueAt <= at) await enqueue(record.id);
    }
    return records;
  }

  /** Records `update` (releasing our lease), tells subscribers, and queues the next attempt or settles the queue entry. */
  async function settle(id: string, update: StepUpdate): Promise<void> {
    const record = await store.update(id, { ...update, updatedAt: iso(now()) }, consumer);
    if (!record) return;
    if (TERMINAL_STATES.has(record.state)) await store.unschedule(id);
    else if (record.nextAttemptAt) await store.schedule(id, Date.parse(record.nextAttemptAt));
    await publishChange(record);
  }

  /** Not an attempt: the step waits (breaker open, consent unknown) and keeps its state. */
  function wait(record: StepRecord, ms: number, error: StepError): Promise<void> {
    return settle(record.id, { nextAttemptAt: iso(now() + ms), lastError: error });
  }

  async function checkConsent(record: StepRecord): Promise<'go' | 'settled'> {
    if (!record.marketing) return 'go';
    if (!record.patientId) {
      await settle(record.id, { state: 'SKIPPED', nextAttemptAt: null, lastError: { code: 'NO_PATIENT', reason: 'a marketing step needs a patient to check consent for' } });
      return 'settled';
    }
    let answer;
    try {
      answer = await options.consent(record.patientId);
    } catch (error) {
      await wait(record, settings.consentRetryMs, { code: 'CONSENT_CHECK_FAILED', reason: 'the CRM could not be asked for consent' });
      logger.warn({ step: record.step, err: (error as Error).name }, 'consent check failed; the step waits');
      return 'settled';
    }
    if (answer === 'granted') return 'go';
    if (answer === 'denied') {
      await settle(record.id, { state: 'SKIPPED', nextAttemptAt: null, lastError: { code: 'NO_MARKETING_CONSENT', reason: 'the CRM contact has not consented to marketing' } });
      return 'settled';
    }
    if (now() - Date.parse(record.createdAt) >= settings.consentWaitMs) {
      await settle(record.id, { state: 'SKIPPED', nextAttemptAt: null, lastError: { code: 'NO_CRM_CONTACT', reason: 'no CRM contact for the patient within the consent wait' } });
    } else {
      await wait(record, settings.consentRetryMs, { code: 'WAITING_FOR_CRM_CONTACT', reason: 'no CRM contact for the patient yet' });
    }
    return 'settled';
  }

  async function attempt(record: StepRecord, connector: Connector): Promise<void> {
    const breaker = breakers.get(record.connector);
    const send = async () => {
      const signal = AbortSignal.timeout(settings.timeoutMs);
      let outcome: DeliveryOutcome;
      try {
        outcome = await connector.send(
          {
            idempotencyKey: record.id,
            eventId: record.eventId,
            eventType: record.eventType,
            occurredAt: record.occurredAt,
            step: record.step,
            fields: record.message.fields,
            ...(record.message.text !== undefined ? { text: record.message.text } : {}),
            options: record.message.options,
          },
          signal,
        );
      } catch (error) {
        // The contract says a connector rejects only on a programming error; retried all the same.
        outcome = { status: 'retry', reason: `connector error (${(error as Error).name})` };
      }
      if (outcome.status === 'retry') throw new RetryOutcome(outcome);
      return outcome;
    };
    let outcome: DeliveryOutcome;
    try {
      outcome = breaker ? await breaker.execute(send) : await send();
    } catch (error) {
      if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
        return wait(record, settings.breakerHalfOpenAfterMs, { code: 'CIRCUIT_OPEN', reason: `connector ${record.connector} is failing; waiting for its breaker to half-open` });
      }
      if (!(error instanceof RetryOutcome)) throw error;
      outcome = error.outcome;
    }
    const attempts = record.attempts + 1;
    const at = now();
    switch (outcome.status) {
      case 'sent':
        return settle(record.id, { state: 'SENT', attempts, sentAt: iso(at), nextAttemptAt: null, lastError: null, externalId: outcome.externalId ?? null });
      case 'failed':
        return settle(record.id, { state: 'DEAD', attempts, deadAt: iso(at), nextAttemptAt: null, lastError: errorOf(outcome) });
      case 'retry':
        if (attempts >= settings.maxAttempts) {
          return settle(record.id, { state: 'DEAD', attempts, deadAt: iso(at), nextAttemptAt: null, lastError: errorOf(outcome) });
        }
        return settle(record.id, {
          state: 'FAILED',
          attempts,
          nextAttemptAt: iso(at + retryDelayMs(attempts, settings, outcome.retryAfterMs, random)),
          lastError: errorOf(outcome),
        });
    }
  }

  async function deliver(id: string): Promise<void> {
    const record = await store.get(id);
    if (!record || TERMINAL_STATES.has(record.state)) {
      await store.unschedule(id);
      return;
    }
    // Not due yet (a duplicate message, or a step rescheduled meanwhile): the queue holds it.
    if (record.nextAttemptAt && Date.parse(record.nextAttemptAt) > now()) {
      await store.schedule(id, Date.parse(record.nextAttemptAt));
      return;
    }
    // The step as it stands under the lease: another deliverer may have tried it since the read
    // above (its attempt counted, a retry set for later).
    const leased = await store.lease(id, consumer, leaseMs);
    if (!leased) return;
    if (leased.nextAttemptAt && Date.parse(leased.nextAttemptAt) > now()) {
      await store.update(id, {}, consumer); // releases the lease, changes nothing
      await store.schedule(id, Date.parse(leased.nextAttemptAt));
      return;
    }
    // One trace per delivery: the consent check's HubSpot call and the connector's attempt are its children.
    await inSpan(
      `cascade.step ${leased.step}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'patient_graph.cascade.step': leased.step,
          'patient_graph.cascade.event_type': leased.eventType,
          'patient_graph.connector': leased.connector,
          'patient_graph.cascade.attempt': leased.attempts + 1,
        },
      },
      () => deliverLeased(leased),
      ROOT_CONTEXT,
    );
  }

  async function deliverLeased(record: StepRecord): Promise<void> {
    const { id } = record;
    const connector = connectors.get(record.connector);
    if (!connector) {
      await settle(id, { state: 'DEAD', deadAt: iso(now()), nextAttemptAt: null, lastError: { code: 'NO_CONNECTOR', reason: `no connector ${record.connector} in the configuration` } });
      return;
    }
    if ((await checkConsent(record)) === 'settled') return;
    await attempt(record, connector);
  }

  let unsubscribe: Unsubscribe | undefined;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  let stopped = false;

  async function poll(): Promise<void> {
    try {
      for (;;) {
        const ids = await store.takeDue(now(), 100, requeueAfterMs);
        for (const id of ids) await enqueue(id);
        if (ids.length < 100 || stopped) break;
      }
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'cascade scheduler could not queue due steps; trying again');
    }
  }

  function schedulePoll(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      polling = poll().finally(schedulePoll);
    }, pollIntervalMs);
    timer.unref?.();
  }

  return {
    accept,
    async start() {
      unsubscribe = await bus.consume(
        CASCADE_OUTBOX_TOPIC,
        {
          group: DELIVERY_GROUP,
          consumer,
          startAt: '0',
          claimAfterMs,
          // A message whose handler keeps throwing (the store unreachable) is set aside; its step
          // stays in the due-time queue, so it is tried again from there.
          deadLetter: { maxDeliveries: 20, topic: `${CASCADE_OUTBOX_TOPIC}.dead-letters` },
        },
        async (event) => {
          const id = (event.payload as Partial<OutboxPayload> | null)?.id;
          if (typeof id === 'string') await deliver(id);
        },
      );
      schedulePoll();
    },
    async redrive(ids) {
      const candidates = ids ? (await Promise.all(ids.map((id) => store.get(id)))).filter((record): record is StepRecord => record !== null) : await store.dead(10_000);
      const redriven: StepRecord[] = [];
      for (const record of candidates) {
        if (record.state !== 'DEAD') continue;
        const at = now();
        const updated = await store.update(record.id, {
          state: 'PENDING',
          attempts: 0,
          deadAt: null,
          nextAttemptAt: iso(at),
          redrives: record.redrives + 1,
          updatedAt: iso(at),
        });
        if (!updated) continue;
        await store.schedule(record.id, at + requeueAfterMs);
        await publishChange(updated);
        await enqueue(record.id);
        redriven.push(updated);
      }
      return redriven;
    },
    breakerState(name) {
      const state = breakers.get(name)?.state;
      return state === undefined ? 'unknown' : state === 0 ? 'closed' : state === 2 ? 'half-open' : 'open';
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await polling;
      await unsubscribe?.();
    },
  };
}
