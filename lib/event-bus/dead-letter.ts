/**
 * Setting aside an event whose handler keeps failing (ConsumeOptions.deadLetter), shared by both
 * implementations so a dead letter looks the same whichever bus wrote it.
 */
import { DEAD_LETTER_TYPE } from './types';
import type { BusEvent, DeadLetter, DeadLetterOptions, EventBus } from './types';

/**
 * Publishes `event` to the dead-letter topic and tells `onDeadLetter`. Resolves once the dead
 * letter is on the bus; the caller acknowledges the original only then, so a crash in between
 * leaves it pending (a second dead letter, never none).
 */
export async function setAside(
  bus: Pick<EventBus, 'publish'>,
  options: DeadLetterOptions,
  group: string,
  event: BusEvent,
  deliveries: number,
): Promise<void> {
  const deadLetter: DeadLetter = {
    topic: event.topic,
    cursor: event.cursor,
    type: event.type,
    time: event.time,
    payload: event.payload,
    deliveries,
    group,
  };
  const published = await bus.publish({ topic: options.topic, type: DEAD_LETTER_TYPE, payload: deadLetter });
  try {
    await options.onDeadLetter?.(published);
  } catch {
    // The event is set aside either way; telling someone is best effort.
  }
}
