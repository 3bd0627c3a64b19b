import { createHash, randomBytes } from 'node:crypto';
import type { ConfigInput } from '@distlimiter/core';
import type { HttpReply } from './http-client.js';

// What the admin suites share: the configuration the app-wide limiter is given, the tokens the admin API
// is mounted with, and a client for it that records every reply so a suite can prove no token leaked.

/** SHA-256 of a string in lowercase hex, computed here rather than by the engine under test. */
export const sha256 = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

/** A key the configuration lists raw, in the tier "free". */
export const ADMIN_FREE_KEY = 'admin_suite_free_key_1';
/** A key listed only as `sha256:<hex>`, in the tier "pro". */
export const ADMIN_PRO_KEY = 'admin_suite_pro_key_2';
/** A key of a valid format that no tier lists. */
export const ADMIN_UNLISTED_KEY = 'admin_suite_unlisted_3';

/**
 * The app-wide limiter's configuration in the admin suites: anonymous (no key) 20/minute by IP, free
 * 10/minute, pro 100/minute; the rule "login" (POST /hello, 3/minute by IP) is the base's own.
 */
export function adminConfig(): ConfigInput {
  return {
    version: 1,
    defaultTier: 'anonymous',
    tiers: {
      anonymous: { rate: '20/minute' },
      free: { rate: '10/minute' },
      pro: { rate: '100/minute' },
    },
    keys: { [ADMIN_FREE_KEY]: 'free', [`sha256:${sha256(ADMIN_PRO_KEY)}`]: 'pro' },
    rules: [{ id: 'login', match: { methods: ['POST'], path: '/hello' }, rate: '3/minute', keyBy: 'ip' }],
  };
}

/** A full token and a read-only one, fresh per run; the read-only one is given to the app hashed. */
export function adminTokens() {
  const full = `full-${randomBytes(12).toString('hex')}`;
  const read = `read-${randomBytes(12).toString('hex')}`;
  return {
    full,
    read,
    /** The `tokens` option: "ops" may write, "grafana" may only read (given as its SHA-256). */
    option: { full: { ops: full }, read: { grafana: `sha256:${sha256(read)}` } },
    /** Strings no reply may ever contain. */
    secrets: [full, read, sha256(full), sha256(read)],
  };
}

/** A reply of the admin API, its body read as JSON when it is JSON. */
export interface AdminReply extends HttpReply {
  // biome-ignore lint/suspicious/noExplicitAny: tests read into every answer's shape.
  body: any;
}

/** How to send one admin request. */
export interface AdminCall {
  /** The bearer token (default: the client's full token); null sends no Authorization header. */
  token?: string | null;
  /** Sent as JSON (a string is sent as it is, still as application/json). */
  body?: unknown;
  headers?: Record<string, string>;
}

/** Sends admin requests to `<base>/admin`, remembering every reply. */
export class AdminClient {
  /** Every reply this client received, for leak checks. */
  readonly replies: HttpReply[] = [];

  constructor(
    readonly base: string,
    private readonly token: string,
  ) {}

  /** One request to `/admin<path>`. */
  async send(method: string, path: string, call: AdminCall = {}): Promise<AdminReply> {
    const headers: Record<string, string> = { ...call.headers };
    const token = call.token === undefined ? this.token : call.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (call.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = typeof call.body === 'string' ? call.body : JSON.stringify(call.body);
    }
    const response = await fetch(`${this.base}/admin${path}`, { method, headers, body });
    const replyHeaders: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      replyHeaders[name.toLowerCase()] = value;
    });
    const text = await response.text();
    const reply: HttpReply = { status: response.status, headers: replyHeaders, text };
    this.replies.push(reply);
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { ...reply, body: parsed };
  }

  get(path: string, call?: AdminCall) {
    return this.send('GET', path, call);
  }
  post(path: string, body?: unknown, call?: AdminCall) {
    return this.send('POST', path, { ...call, body });
  }
  put(path: string, body?: unknown, call?: AdminCall) {
    return this.send('PUT', path, { ...call, body });
  }
  delete(path: string, call?: AdminCall) {
    return this.send('DELETE', path, call);
  }

  /** The secrets that appear anywhere in a reply received so far (status line aside): none, in a passing run. */
  leaks(secrets: readonly string[]): string[] {
    const found: string[] = [];
    for (const reply of this.replies) {
      const seen = `${JSON.stringify(reply.headers)}\n${reply.text}`;
      for (const secret of secrets) if (seen.includes(secret)) found.push(secret);
    }
    return found;
  }
}
