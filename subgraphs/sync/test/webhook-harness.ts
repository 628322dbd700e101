/**
 * Webhook ingress under test: the router on a real HTTP server (port 0), a real bus, a real
 * dedupe store, and a logger whose lines are kept so tests can check what was (not) logged.
 */
import express from 'express';
import pino from 'pino';
import type { EventBus } from '../../../lib/event-bus';
import { listen } from '../../../lib/listen';
import type { Listening } from '../../../lib/listen';
import { INBOX_TOPIC } from '../src/inbox';
import type { InboxPayload } from '../src/inbox';
import { createWebhookRouter } from '../src/webhooks';
import type { VendorSecrets, WebhookDedupe } from '../src/webhooks';

export const SECRETS = {
  hubspotClientSecret: ['hubspot-client-secret-test'],
  stripeWebhookSecret: ['whsec_ingress_test'],
  goCardlessWebhookSecret: ['gocardless-secret-test'],
  googleChannelTokens: { 'channel-test-1': 'google-channel-token-test' },
  sembleWebhookSecret: ['semble-shared-secret-test'],
} satisfies VendorSecrets;

export interface Ingress {
  url: string;
  bus: EventBus;
  /** JSON log lines written so far. */
  logs: string[];
  /** Every sync-inbox event's payload, oldest first. */
  inbox(): Promise<Array<{ type: string; payload: InboxPayload }>>;
  post(path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

export async function startIngress(options: {
  bus: EventBus;
  dedupe: WebhookDedupe;
  secrets?: VendorSecrets;
  maxBodyBytes?: number;
}): Promise<Ingress> {
  const logs: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
  const app = express();
  const listening: Listening = await listen(app);
  app.use(
    createWebhookRouter({
      bus: options.bus,
      dedupe: options.dedupe,
      secrets: options.secrets ?? SECRETS,
      publicUrl: listening.url,
      logger,
      ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
    }),
  );
  return {
    url: listening.url,
    bus: options.bus,
    logs,
    async inbox() {
      const events = await options.bus.read(INBOX_TOPIC, { limit: 1000 });
      return events.map((event) => ({ type: event.type, payload: event.payload as InboxPayload }));
    },
    async post(path, headers, body) {
      const response = await fetch(`${listening.url}${path}`, { method: 'POST', headers, ...(body === undefined ? {} : { body }) });
      const text = await response.text();
      return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
    },
    stop: () => listening.stop(),
  };
}
