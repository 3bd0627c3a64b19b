import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A server listening on a loopback port, and how to stop it. */
export interface Listening {
  /** Base URL, e.g. http://127.0.0.1:PORT (no trailing slash). */
  url: string;
  /** Stops accepting and drops open connections, resolving once the server has closed. */
  close(): Promise<void>;
}

/**
 * Base URL of a server already listening on 127.0.0.1. Takes anything with `address()` so the
 * frameworks that own their server (Fastify, Nest) can hand it over without a cast.
 */
export function loopbackUrl(server: { address(): AddressInfo | string | null }): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * Waits until `server`, already told to listen on 127.0.0.1 port 0 (e.g. `app.listen(0, '127.0.0.1')`),
 * is listening. Tests talk to apps over a real socket, so this is the one place that knows how to start
 * and stop one.
 */
export function listenOn(server: Server): Promise<Listening> {
  return new Promise((resolve, reject) => {
    const ready = () => {
      server.off('error', reject);
      resolve({
        url: loopbackUrl(server),
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
            // fetch keeps sockets alive; without this close() would wait for them to time out.
            server.closeAllConnections();
          }),
      });
    };
    if (server.listening) return ready();
    server.once('error', reject);
    server.once('listening', ready);
  });
}

/**
 * Servers a test file started, closed together from one afterEach, so a failing test cannot leave a
 * port open for the next one.
 */
export class OpenServers {
  readonly #open: Listening[] = [];

  /** Waits for `starting`, remembers it for closeAll(), and returns its URL. */
  async add(starting: Promise<Listening>): Promise<string> {
    const listening = await starting;
    this.#open.push(listening);
    return listening.url;
  }

  /** Closes every remembered server. */
  async closeAll(): Promise<void> {
    await Promise.all(this.#open.splice(0).map((s) => s.close()));
  }
}
