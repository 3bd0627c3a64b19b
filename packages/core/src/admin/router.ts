import type { AdminCaller } from './tokens.js';

// The route table: a method and a path pattern (":name" segments are parameters, percent-decoded) per
// route. A path no route has is a 404; a path some route has under another method is a 405 with Allow.

/** One admin request, as a route sees it. */
export interface AdminCall {
  readonly request: Request;
  readonly url: URL;
  /** The path's parameters, percent-decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** The client IP as the framework resolved it, if known. */
  readonly ip: string | undefined;
  /** The token that authenticated the request (by name). */
  readonly caller: AdminCaller;
  /** The JSON body: the framework's parsed body when given, else the request's own, parsed once. */
  body(): Promise<unknown>;
}

/** A route: answers its calls, or throws an AdminHttpError (any other error is a 500 or, from the backend, a 503). */
export interface Route {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The path pattern, e.g. "/rules/:id". */
  readonly path: string;
  /** Answers without a token and without the admin API's own limit (liveness and readiness probes). */
  readonly open?: boolean;
  run(call: AdminCall): Promise<Response>;
}

/** What a path resolved to: a route and its parameters, the methods the path has otherwise, or nothing. */
export type Resolved =
  | { kind: 'route'; route: Route; params: Record<string, string> }
  | { kind: 'method'; allow: string[] }
  | { kind: 'none' }
  | { kind: 'bad'; message: string };

interface Compiled {
  readonly route: Route;
  readonly segments: readonly string[];
}

/** Finds the route of a request by method and path. */
export class Router {
  private readonly routes: readonly Compiled[];

  constructor(routes: readonly Route[]) {
    this.routes = routes.map((route) => ({ route, segments: split(route.path) }));
  }

  /** The route for `method` (HEAD as GET) at `pathname`, undecoded as a URL gives it. */
  resolve(method: string, pathname: string): Resolved {
    const raw = split(pathname);
    let segments: string[];
    try {
      segments = raw.map((s) => decodeURIComponent(s));
    } catch {
      return { kind: 'bad', message: 'The path is not valid percent-encoding.' };
    }
    const wanted = method === 'HEAD' ? 'GET' : method;
    const allow = new Set<string>();
    for (const { route, segments: pattern } of this.routes) {
      const params = match(pattern, segments);
      if (params === undefined) continue;
      if (route.method === wanted) return { kind: 'route', route, params };
      allow.add(route.method);
      if (route.method === 'GET') allow.add('HEAD');
    }
    return allow.size > 0 ? { kind: 'method', allow: [...allow] } : { kind: 'none' };
  }
}

// "/rules/" is "/rules": a trailing slash is forgiven, as most frameworks forgive it.
function split(path: string): string[] {
  return path.split('/').filter((s, i, all) => s !== '' || (i > 0 && i < all.length - 1));
}

function match(pattern: readonly string[], segments: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = segments[i]!;
    if (p.startsWith(':')) {
      if (s === '') return undefined;
      params[p.slice(1)] = s;
    } else if (p !== s) return undefined;
  }
  return params;
}
