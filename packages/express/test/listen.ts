import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

/** An Express app listening on an ephemeral loopback port. */
export interface Listening {
  url: string;
  close(): Promise<void>;
}

/** Starts `app` on 127.0.0.1 port 0, because tests talk to it over a real socket. */
export function listen(app: Express): Promise<Listening> {
  return new Promise((resolve, reject) => {
    const server: Server = app.listen(0, '127.0.0.1');
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
