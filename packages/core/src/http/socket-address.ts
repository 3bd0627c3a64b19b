/** The parts of a Node `IncomingMessage` that `directAddress` reads. */
export interface NodeRequestLike {
  readonly socket?: { readonly remoteAddress?: string | undefined } | null;
  readonly rawHeaders?: readonly string[];
}

const FORWARDED_FOR = 'x-forwarded-for';

/**
 * The socket's address of a Node request that carries no X-Forwarded-For field and has no `ip` of its own;
 * undefined otherwise, and the adapter then asks its framework's `req.ip`. Express's `req.ip` (proxy-addr
 * under the 'trust proxy' setting) is the socket's address whenever that header is absent, whatever the
 * setting, so this answers the same without the getter's settings lookup, header parse and arrays.
 *
 * It reads only the request's own properties, on purpose: Express swaps each request's prototype, after
 * which V8 gives every request a hidden class of its own, so each property read on it misses V8's caches,
 * and one found on the prototype chain (the `headers` getter) walks it too.
 */
export function directAddress(req: NodeRequestLike): string | undefined {
  // rawHeaders first: a request that is not a Node one (Fastify's) has none, and is answered without a read more.
  if (forwarded(req.rawHeaders)) return undefined;
  const socket = req.socket;
  if (socket == null || Object.hasOwn(req, 'ip')) return undefined;
  return socket.remoteAddress;
}

// Whether the raw header list (name, value, name, value, ...) has an X-Forwarded-For field, in any case. A
// request without one (not parsed by Node: a test double, a Fastify request) counts as forwarded, so the
// framework's `ip` decides.
function forwarded(raw: readonly string[] | undefined): boolean {
  if (raw === undefined) return true;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === FORWARDED_FOR.length && name.toLowerCase() === FORWARDED_FOR) return true;
  }
  return false;
}
