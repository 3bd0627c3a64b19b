import net from 'node:net';

/** Raw RESP probe, so readiness checks need no client library and never reconnect behind our back. */
export function probe(port: number, command: string[], expect: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let data = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => {
      socket.write(
        `*${command.length}\r\n${command.map((c) => `$${Buffer.byteLength(c)}\r\n${c}\r\n`).join('')}`,
      );
    });
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      if (data.includes(expect)) done(true);
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(data.includes(expect)));
  });
}

/** Promise-based delay for the bounded polling loops. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
