/**
 * Start an HTTP server and get back its URL and a stop() that really stops: open keep-alive
 * sockets are closed too, so tests and the launcher never hang on a lingering connection.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Listening {
  server: http.Server;
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function listen(handler: http.RequestListener | http.Server, port = 0, host = '127.0.0.1'): Promise<Listening> {
  const server = handler instanceof http.Server ? handler : http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  let stopping: Promise<void> | undefined;
  return {
    server,
    port: address.port,
    url: `http://${shownHost}:${address.port}`,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 1000).unref();
      });
      return stopping;
    },
  };
}
