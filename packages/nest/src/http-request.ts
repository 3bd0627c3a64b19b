import { directAddress, type HttpRequest, type NodeRequestLike } from '@distlimiter/core/http';

// The fields Express's `Request` and Fastify's `FastifyRequest` share (or name differently); typed here so
// this package depends on neither platform.
interface PlatformRequest {
  readonly ip?: string | undefined;
  readonly method: string;
  readonly url: string;
  /** Express: the URL before any router stripped a mount path. */
  readonly originalUrl?: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Express: the matched route. */
  readonly route?: { readonly path?: unknown };
  /** Fastify: the matched route. */
  readonly routeOptions?: { readonly url?: string | undefined };
}

/** Express `Request` or Fastify `FastifyRequest` seen as the framework-neutral request the core limits. */
// The path and method are read when asked: the limiter reads the path only when configured to (exemptions,
// callbacks), and the method only for a route's own limit, and Fastify's `method` is a getter.
export class NestHttpRequest implements HttpRequest {
  readonly ip: string | undefined;
  readonly routeId: string | undefined;
  readonly raw: PlatformRequest;

  /** `route`: whether the limit is the handler's own, counted per route; false for the app-wide one. */
  constructor(request: PlatformRequest, route: boolean) {
    // Both platforms resolve `ip` under their own trust-proxy setting; reading headers here would bypass it.
    // On Express (a Node request, with rawHeaders of its own) the address is read from the socket when no
    // X-Forwarded-For field could change it, as Express's getter would answer; on Fastify, from its `ip`.
    this.ip = directAddress(request as unknown as NodeRequestLike) || request.ip || undefined;
    const pattern = route ? (request.route?.path ?? request.routeOptions?.url) : undefined;
    this.routeId = pattern === undefined ? undefined : String(pattern);
    this.raw = request;
  }

  /** The request method, as the platform gives it. */
  get method(): string {
    return this.raw.method;
  }

  /** Path without the query string, as the client asked for it (before any router stripped a mount path). */
  get path(): string {
    const url = this.raw.originalUrl ?? this.raw.url;
    const query = url.indexOf('?');
    return query === -1 ? url : url.slice(0, query);
  }

  header(name: string): string | undefined {
    const value = this.raw.headers[name];
    return typeof value === 'string' ? value : value?.[0];
  }
}

// Express responses are Node `ServerResponse`s (setHeader); Fastify replies have `header` only.
interface PlatformResponse {
  setHeader?(name: string, value: string): unknown;
  header?(name: string, value: string): unknown;
}

/** Sets the rate-limit headers on an Express response or a Fastify reply. */
export function setHeaders(response: PlatformResponse, headers: Readonly<Record<string, string>>): void {
  // The platform is told apart once per response, not once per field.
  if (typeof response.setHeader === 'function') {
    for (const name in headers) response.setHeader(name, headers[name] as string);
  } else if (typeof response.header === 'function') {
    for (const name in headers) response.header(name, headers[name] as string);
  }
}
