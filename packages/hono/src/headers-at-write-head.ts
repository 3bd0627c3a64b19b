import { isRateLimitHeaderName } from '@distlimiter/core/http';
import type { Context } from 'hono';

// Why this file exists: a setHeader before writeHead sends Node down its merging path. Measured in
// packages/bench (README, "Where the time goes"): on node:http, five headers through setHeader 0.91 of a
// hello world, the same five handed to writeHead 0.99; on a Hono hello world, setHeader on the Node
// response cost 10-15%, and the wrapping below, adding nothing, 0.99 of a no-op middleware. Handing ours to
// writeHead with the server's own headers, as one flat list, measured 1.03 against merging the objects.

// The shape @hono/node-server puts in `c.env` (some hosts nest it under `server`); typed by hand so this
// package does not depend on the Node server at runtime.
interface NodeBindings {
  server?: NodeBindings;
  incoming?: { socket?: { remoteAddress?: string } };
  outgoing?: NodeOutgoing;
}

// The Node response (http.ServerResponse or Http2ServerResponse) @hono/node-server answers through.
export interface NodeOutgoing {
  readonly headersSent?: boolean;
  setHeader?(name: string, value: string): unknown;
  writeHead?: WriteHead;
  [LIMITS]?: Record<string, string>;
  [WRITE_HEAD]?: WriteHead;
}

// Where a response keeps, until its head is written, this request's limit headers and the writeHead
// they are handed to.
const LIMITS = Symbol('distlimiter.limits');
const WRITE_HEAD = Symbol('distlimiter.writeHead');

type WriteHead = (this: NodeOutgoing, status: number, ...rest: unknown[]) => unknown;

/** The remote address of the Node socket; proxy headers are never read, since any client can forge them. */
export function socketIp(c: Context): string | undefined {
  const env = c.env as NodeBindings | undefined;
  return (env?.server ?? env)?.incoming?.socket?.remoteAddress;
}

/**
 * The Node response behind this request, when served by @hono/node-server and nothing is sent yet.
 * Headers given to it reach the client whatever Response the handler returns, and spare Hono a Headers
 * object, which costs more than the handler.
 */
export function nodeOutgoing(c: Context): NodeOutgoing | undefined {
  const env = c.env as NodeBindings | undefined;
  const outgoing = (env?.server ?? env)?.outgoing;
  return outgoing !== undefined &&
    typeof outgoing.setHeader === 'function' &&
    typeof outgoing.writeHead === 'function' &&
    outgoing.headersSent === false
    ? outgoing
    : undefined;
}

/**
 * Hands `limits` to the response's writeHead together with the server's own headers, instead of calling
 * setHeader for each. Node writes a head given all at once to writeHead on a lean path; a setHeader
 * before it sends writeHead down its merging path, and on @hono/node-server five headers set that way
 * cost about a tenth of a hello-world request. A header the response sets itself wins over ours, as it
 * would with setHeader. `limits` is this request's own record (built per decision), so it may be changed
 * in place.
 */
export function addAtWriteHead(outgoing: NodeOutgoing, limits: Record<string, string>): void {
  const earlier = outgoing[LIMITS];
  if (earlier !== undefined) {
    // A second limiter on the same request (app-wide, then per route): like setHeader, the later one
    // wins where both send a header, and the head carries the union.
    for (const name in earlier) if (!(name in limits)) limits[name] = earlier[name]!;
    outgoing[LIMITS] = limits;
    return;
  }
  // Two fields and a shared function rather than a closure per request.
  outgoing[LIMITS] = limits;
  outgoing[WRITE_HEAD] = outgoing.writeHead;
  outgoing.writeHead = writeHeadWithLimits;
}

// writeHead(status[, statusMessage][, headers]): the headers come last.
function writeHeadWithLimits(this: NodeOutgoing, status: number, a?: unknown, b?: unknown): unknown {
  const limits = this[LIMITS]!;
  const writeHead = this[WRITE_HEAD]!;
  if (typeof a === 'string') return writeHead.call(this, status, a, withLimits(this, limits, b));
  return writeHead.call(this, status, withLimits(this, limits, a));
}

/**
 * The server's headers and ours as one flat [name, value, ...] list, which Node walks by index; an object
 * it walks by key, checking each is the object's own. With isRateLimitHeaderName's first-letter check,
 * this measured 3% faster on a Hono hello world than merging the server's object into ours.
 */
function withLimits(outgoing: NodeOutgoing, limits: Record<string, string>, given: unknown): unknown {
  // Values are mostly strings; a server may pass numbers (Content-Length) or arrays (Set-Cookie).
  const flat: unknown[] = [];
  if (given !== undefined && given !== null) {
    if (typeof given !== 'object' || Array.isArray(given)) {
      // Raw header arrays are rare: let Node merge them its slower way.
      for (const name in limits) outgoing.setHeader!(name, limits[name]!);
      return given;
    }
    const headers = given as Record<string, unknown>;
    for (const name in headers) {
      if (isRateLimitHeaderName(name)) {
        const lower = name.toLowerCase();
        for (const ours in limits) if (ours.toLowerCase() === lower) delete limits[ours];
      }
      flat.push(name, headers[name]);
    }
  }
  for (const name in limits) flat.push(name, limits[name]!);
  return flat;
}
