/**
 * Two deliveries of the same event at the same moment (a vendor retry racing the original): the
 * second must not be acknowledged as a duplicate while the first is still being put on the bus,
 * because if that publish fails the event would be lost.
 */
import { signStripe } from '../../../lib/webhooks';
import { createMemoryEventBus } from '../../../lib/event-bus/memory';
import type { EventBus } from '../../../lib/event-bus/types';
import { createMemoryWebhookDedupe } from '../src/webhooks';
import { SECRETS, startIngress } from './webhook-harness';
import type { Ingress } from './webhook-harness';

/** A bus whose next publish waits for `open()` and then succeeds or fails as told. */
function gatedBus(inner: EventBus) {
  let gate: { wait: Promise<void>; open: () => void; fail: boolean; reached: () => void } | undefined;
  const bus: EventBus = {
    ...inner,
    read: inner.read.bind(inner),
    subscribe: inner.subscribe.bind(inner),
    consume: inner.consume.bind(inner),
    ping: inner.ping.bind(inner),
    close: inner.close.bind(inner),
    async publish(input) {
      const current = gate;
      gate = undefined;
      if (current) {
        current.reached();
        await current.wait;
        if (current.fail) throw new Error('bus unavailable');
      }
      return inner.publish(input);
    },
  };
  return {
    bus,
    /** Holds the next publish; `reached` resolves once a delivery is waiting at the gate. */
    hold(fail: boolean) {
      let open!: () => void;
      let reached!: () => void;
      const wait = new Promise<void>((resolve) => (open = resolve));
      const arrived = new Promise<void>((resolve) => (reached = resolve));
      gate = { wait, open, fail, reached };
      return { open: () => open(), reached: arrived };
    },
  };
}

describe('concurrent deliveries of one webhook', () => {
  let memory: EventBus;
  let ingress: Ingress;
  let gated: ReturnType<typeof gatedBus>;

  beforeEach(async () => {
    memory = createMemoryEventBus();
    gated = gatedBus(memory);
    ingress = await startIngress({ bus: gated.bus, dedupe: createMemoryWebhookDedupe() });
  });
  afterEach(async () => {
    await ingress.stop();
    await memory.close();
  });

  const delivery = (id: string) => {
    const body = JSON.stringify({ id, object: 'event', type: 'payment_intent.succeeded', data: { object: { id: 'pi_1', object: 'payment_intent' } } });
    const headers = { 'content-type': 'application/json', ...signStripe({ secret: SECRETS.stripeWebhookSecret[0]!, timestamp: Date.now() / 1000, body }) };
    return () => ingress.post('/webhooks/stripe', headers, body);
  };

  it('answers the racing copy 503 while the first is being published, and a duplicate after', async () => {
    const send = delivery('evt_race_ok');
    const gate = gated.hold(false);
    const first = send();
    await gate.reached;
    const racing = await send();
    expect(racing.status).toBe(503);
    expect(racing.body.error.code).toBe('WEBHOOK_IN_PROGRESS');
    gate.open();
    expect((await first).status).toBe(200);
    expect((await send()).body).toEqual({ duplicate: true });
    expect(await ingress.inbox()).toHaveLength(1);
  });

  it('accepts the retry when the first delivery could not be published, so nothing is lost', async () => {
    const send = delivery('evt_race_fail');
    const gate = gated.hold(true);
    const first = send();
    await gate.reached;
    expect((await send()).status).toBe(503);
    gate.open();
    expect((await first).status).toBe(503);
    const retry = await send();
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ duplicate: false, accepted: 1 });
    expect(await ingress.inbox()).toHaveLength(1);
  });
});
