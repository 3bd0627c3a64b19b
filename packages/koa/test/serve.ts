import type { AddressInfo } from 'node:net';
import type Koa from 'koa';

/** A Koa app listening on an ephemeral loopback port. */
export interface Served {
  url: string;
  close(): Promise<void>;
}

/** Starts `app` on 127.0.0.1 port 0, because tests talk to it over a real socket. */
export function serve(app: Koa): Promise<Served> {
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1');
    server.once('error', reject);
    server.once('listening', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
            // fetch keeps sockets alive; without this close() would wait for them to time out.
            server.closeAllConnections();
          }),
      });
    });
  });
}
