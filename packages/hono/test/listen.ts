import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';

/** A Hono app served by @hono/node-server on a free port of 127.0.0.1. */
export interface Served {
  url: string;
  close(): Promise<void>;
}

/** Serves `app` on 127.0.0.1 and port 0, resolving once the socket is listening. */
export function listen(app: Hono): Promise<Served> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      server.off('error', reject);
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
            // fetch keeps connections alive; drop them so close() does not wait for their timeout.
            if ('closeAllConnections' in server) server.closeAllConnections();
          }),
      });
    });
    server.once('error', reject);
  });
}
