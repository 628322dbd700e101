/**
 * Child process of `npm run bench:subscriptions`: opens N graphql-ws connections with one
 * subscription each, records when every event arrives, and reports to the parent over IPC.
 * Runs apart from the gateway so the gateway's memory is measured alone.
 */
import { createClient } from 'graphql-ws';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';

interface Start {
  type: 'start';
  url: string;
  token: string;
  subscribers: number;
}

const QUERY = 'subscription { itemEvents { id publishedAt } }';

process.on('message', async (message: Start | { type: 'report' } | { type: 'stop' }) => {
  if (message.type === 'start') {
    const clients: Client[] = [];
    const latencies: number[] = [];
    const perEvent = new Map<string, number>();
    let errors = 0;
    for (let i = 0; i < message.subscribers; i++) {
      const client = createClient({
        url: message.url,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        connectionParams: { authorization: `Bearer ${message.token}` },
        onNonLazyError: () => {
          errors += 1;
        },
      });
      clients.push(client);
      client.subscribe(
        { query: QUERY },
        {
          next: (result) => {
            const event = (result.data as { itemEvents?: { id: string; publishedAt: string } } | undefined)?.itemEvents;
            if (!event) {
              errors += 1;
              return;
            }
            latencies.push(Date.now() - Number(event.publishedAt));
            perEvent.set(event.id, (perEvent.get(event.id) ?? 0) + 1);
          },
          error: () => {
            errors += 1;
          },
          complete: () => undefined,
        },
      );
    }
    process.on('message', async (next: { type: string }) => {
      if (next.type === 'report') {
        process.send!({ type: 'report', latencies, deliveries: Object.fromEntries(perEvent), errors });
      }
      if (next.type === 'stop') {
        await Promise.all(clients.map((client) => client.dispose()));
        process.exit(0);
      }
    });
    process.send!({ type: 'opened' });
  }
});
