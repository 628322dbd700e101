/** A bus served over HTTP the way the sync service serves its own (../http-host.ts at /bus), for tests of its followers. */
import express from 'express';
import { listen } from '../../listen';
import { createBusHost } from '../http-host';
import type { EventBus } from '../types';

/** Serves `bus` at `<url>` (…/bus) on `port` (0: any free one); stop() leaves the bus open. */
export async function serveBusOverHttp(bus: EventBus, options: { token: string; port?: number }): Promise<{ url: string; stop(): Promise<void> }> {
  const host = createBusHost(bus, { token: options.token });
  const app = express();
  app.use('/bus', host);
  const served = await listen(app, options.port ?? 0);
  return {
    url: `${served.url}/bus`,
    async stop() {
      await host.close();
      await served.stop();
    },
  };
}
