/**
 * Validation of everything callers hand the bus (topics, payloads, read and consume options),
 * shared by both implementations so they accept and reject exactly the same inputs, with
 * "expected X, got Y" messages.
 */
import type { ConsumeOptions, DeadLetterOptions, EventBusOptions, PublishInput } from './types';

export const DEFAULT_MAX_EVENTS_PER_TOPIC = 100_000;
export const DEFAULT_READ_LIMIT = 100;
export const DEFAULT_BATCH_SIZE = 10;
export const DEFAULT_CLAIM_AFTER_MS = 30_000;

/** A short, PHI-free description of a bad value for error messages: its type, never its content. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value === '' ? 'an empty string' : 'a string';
  if (typeof value === 'number') return String(value);
  return typeof value;
}

function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name}: expected a positive integer, got ${describe(value)}`);
  }
  return value;
}

function nonEmptyString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${name}: expected a non-empty string, got ${describe(value)}`);
  }
  return value;
}

export function resolveMaxEventsPerTopic(options: EventBusOptions | undefined): number {
  return options?.maxEventsPerTopic === undefined
    ? DEFAULT_MAX_EVENTS_PER_TOPIC
    : positiveInteger('maxEventsPerTopic', options.maxEventsPerTopic);
}

export function checkTopic(topic: unknown): string {
  return nonEmptyString('topic', topic);
}

export interface CheckedPublish {
  topic: string;
  type: string;
  /** The payload as stored: both buses keep JSON, so a subscriber sees the same value from either. */
  payloadJson: string;
}

export function checkPublishInput(input: PublishInput<unknown>): CheckedPublish {
  if (typeof input !== 'object' || input === null) {
    throw new TypeError(`publish: expected { topic, type, payload }, got ${describe(input)}`);
  }
  const topic = checkTopic(input.topic);
  const type = nonEmptyString('type', input.type);
  let payloadJson: string | undefined;
  try {
    payloadJson = JSON.stringify(input.payload);
  } catch (error) {
    throw new TypeError(`payload: expected a JSON-serialisable value, got one that failed: ${(error as Error).message}`);
  }
  if (payloadJson === undefined) {
    throw new TypeError(`payload: expected a JSON-serialisable value, got ${describe(input.payload)}`);
  }
  return { topic, type, payloadJson };
}

export function resolveReadLimit(limit: unknown): number {
  return limit === undefined ? DEFAULT_READ_LIMIT : positiveInteger('limit', limit);
}

export type ResolvedConsumeOptions = Required<Omit<ConsumeOptions, 'deadLetter'>> & { deadLetter: DeadLetterOptions | undefined };

function resolveDeadLetter(topic: string, value: unknown): DeadLetterOptions | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`deadLetter: expected { maxDeliveries, topic }, got ${describe(value)}`);
  }
  const options = value as DeadLetterOptions;
  const maxDeliveries = positiveInteger('deadLetter.maxDeliveries', options.maxDeliveries);
  const deadLetterTopic = nonEmptyString('deadLetter.topic', options.topic);
  if (deadLetterTopic === topic) {
    throw new TypeError('deadLetter.topic: expected a topic other than the one consumed, got the same topic');
  }
  if (options.onDeadLetter !== undefined) checkHandler('deadLetter.onDeadLetter', options.onDeadLetter);
  return { maxDeliveries, topic: deadLetterTopic, ...(options.onDeadLetter ? { onDeadLetter: options.onDeadLetter } : {}) };
}

export function resolveConsumeOptions(topic: string, options: ConsumeOptions): ResolvedConsumeOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`consume: expected { group, consumer }, got ${describe(options)}`);
  }
  const startAt = options.startAt ?? '0';
  if (startAt !== '0' && startAt !== '$') {
    throw new TypeError(`startAt: expected '0' or '$', got ${describe(startAt)}`);
  }
  return {
    group: nonEmptyString('group', options.group),
    consumer: nonEmptyString('consumer', options.consumer),
    startAt,
    batchSize: options.batchSize === undefined ? DEFAULT_BATCH_SIZE : positiveInteger('batchSize', options.batchSize),
    claimAfterMs:
      options.claimAfterMs === undefined ? DEFAULT_CLAIM_AFTER_MS : positiveInteger('claimAfterMs', options.claimAfterMs),
    deadLetter: resolveDeadLetter(topic, options.deadLetter),
  };
}

export function checkHandler(name: string, value: unknown): void {
  if (typeof value !== 'function') throw new TypeError(`${name}: expected a function, got ${describe(value)}`);
}

/** Rejection for calls on a bus after close(). */
export function busClosedError(): Error {
  return new Error('event bus is closed');
}

/** Wait `ms`, or less when `signal` aborts (a stopping loop must not sit out its backoff). */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
