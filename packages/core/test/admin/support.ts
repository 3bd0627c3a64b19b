import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import {
  type AdminAudit,
  type AdminHandler,
  type AdminIpBlock,
  type AdminOptions,
  type AdminProtection,
  type AdminWriteEvent,
  createAdminHandler,
} from '../../src/admin/index.js';
import { createHttpLimiter, type HttpLimiter } from '../../src/http/index.js';
import { type Backend, MemoryBackend, RedisBackend } from '../../src/index.js';
import { createConfigSource } from '../../src/policy/source/config-source.js';
import { type Doc, issueDocument } from '../support/config-document.js';
import { tempDir } from '../support/config-source-events.js';
import { redisUrlForTests } from '../support/testkit.js';

// The admin handler called directly, as an adapter would: `new Request('http://x/rules', ...)` over a
// limiter on memory or on the shared test Redis (each limiter under a prefix of its own).

/** The full token of every test handler, and the read-only one. */
export const FULL = 'full-token-0123456789abcdef';
export const READ = 'read-token-0123456789abcdef';
export const TOKENS = { full: { ops: FULL }, read: { grafana: READ } };

export const T0 = 1_700_000_000_000;

/** A clock the test moves by hand. */
export function manualClock(start = T0) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

let redisClient: Redis | undefined;
/** The shared test Redis (one connection per test file, closed by `closeAll`). */
export function redis(): Redis {
  redisClient ??= new Redis(redisUrlForTests());
  return redisClient;
}

const temp = tempDir();
let files = 0;
/** Writes `doc` to a new JSON file and returns its path. */
export function fileOf(doc: Doc): string {
  const at = path.join(temp.dir, `admin-${process.pid}-${++files}.json`);
  writeFileSync(at, JSON.stringify(doc, null, 2));
  return at;
}

const opened: { close(): Promise<void> }[] = [];

/** Closes every limiter, backend and handler built here, then the Redis connection. */
export async function closeAll(): Promise<void> {
  for (const o of opened.splice(0).reverse()) await o.close().catch(() => {});
}

/** Closes the Redis connection and removes the temporary files; for afterAll. */
export async function closeFile(): Promise<void> {
  await closeAll();
  await redisClient?.quit();
  redisClient = undefined;
  temp.remove();
}

export type BackendKind = 'memory' | 'redis';

/** A limiter on `kind` with the issue's configuration (as a file: its base is "file"), under a fresh prefix. */
export function limiterOn(
  kind: BackendKind,
  options: { doc?: Doc; prefix?: string; clock?: () => number; asDocument?: boolean } = {},
): { limiter: HttpLimiter; backend: Backend; prefix: string } {
  const prefix = options.prefix ?? `adm${randomUUID().slice(0, 8)}`;
  const backend =
    kind === 'memory'
      ? new MemoryBackend(options.clock ? { clock: options.clock } : {})
      : new RedisBackend({ client: redis() });
  const doc = options.doc ?? issueDocument();
  const base = options.asDocument ? { document: doc as never } : { file: fileOf(doc) };
  // With a clock, the source is built here on it (the limiter builds its own on Date.now otherwise).
  const source =
    options.clock === undefined
      ? undefined
      : createConfigSource({
          ...base,
          clock: options.clock,
          ...(kind === 'memory' ? { localOverlay: true } : { redis: { client: redis(), prefix } }),
        });
  const config = source ?? (options.asDocument ? (doc as never) : base.file!);
  const limiter = createHttpLimiter({ config, backend, prefix });
  opened.push(backend, ...(source ? [source] : []), limiter);
  return { limiter, backend, prefix };
}

/** What an admin test holds: the limiter, the handler and a way to send it requests. */
export interface AdminUnderTest {
  limiter: HttpLimiter;
  backend: Backend;
  prefix: string;
  admin: AdminHandler;
  /** Sends one request with the full token (or `token`; null for none); the body as JSON. */
  send(method: string, url: string, init?: SendInit): Promise<Answer>;
}

export interface SendInit {
  body?: unknown;
  token?: string | null;
  headers?: Record<string, string>;
  ip?: string;
  /** Hands the body to the handler already parsed (context.body), as Express and Fastify adapters do. */
  parsed?: boolean;
}

/** A response with its JSON body read. */
export interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read into every answer's shape.
  body: any;
  text: string;
}

/** The admin handler over a limiter on `kind`, with an in-memory audit log and IP blocks. */
export async function adminOn(
  kind: BackendKind,
  options: Partial<AdminOptions> & { doc?: Doc; prefix?: string; asDocument?: boolean } = {},
): Promise<AdminUnderTest> {
  const { doc, prefix: given, asDocument, ...adminOptions } = options;
  const built = limiterOn(kind, { doc, prefix: given, clock: adminOptions.clock, asDocument });
  await (built.limiter.source as { ready?: () => Promise<void> }).ready?.();
  const admin = createAdminHandler({
    limiter: built.limiter,
    tokens: TOKENS,
    rate: '1000/minute',
    ...adminOptions,
  });
  opened.push(admin);
  return { ...built, admin, send: (m, u, i) => send(admin, m, u, i) };
}

/** One request to `admin`. */
export async function send(
  admin: AdminHandler,
  method: string,
  url: string,
  init: SendInit = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  const token = init.token === undefined ? FULL : init.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const hasBody = init.body !== undefined;
  if (hasBody) headers['content-type'] = 'application/json';
  const request = new Request(`http://x${url}`, {
    method,
    headers,
    body: hasBody && !init.parsed ? JSON.stringify(init.body) : undefined,
  });
  const context = { ip: init.ip ?? '203.0.113.9', ...(init.parsed ? { body: init.body } : {}) };
  const response = await admin.fetch(request, context);
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : undefined,
    text,
  };
}

/** An audit log in memory, with AuditLog's record/read. */
export class FakeAudit implements AdminAudit {
  readonly records: (AdminWriteEvent & { at: number; ip?: string })[] = [];
  record(event: AdminWriteEvent, ip?: string): void {
    this.records.push({ ...event, at: Date.now(), ...(ip ? { ip } : {}) });
  }
  async read(sinceMs: number, limit: number) {
    return this.records.filter((r) => r.at >= sinceMs).slice(0, limit);
  }
}

/** IP blocks in memory, with KeyProtection's list/block/unblock. */
export class FakeProtection implements AdminProtection {
  readonly blocks = new Map<string, AdminIpBlock>();
  constructor(private readonly clock: () => number) {}
  list(): AdminIpBlock[] {
    return [...this.blocks.values()];
  }
  block(ip: string, durationMs: number, by: string): AdminIpBlock {
    const block = {
      ip,
      untilMs: this.clock() + durationMs,
      reason: 'admin',
      by,
      offence: 0,
      sinceMs: this.clock(),
    };
    this.blocks.set(ip, block);
    return block;
  }
  unblock(ip: string): boolean {
    return this.blocks.delete(ip);
  }
}

/** Polls `check` until it holds or `boundMs` passes; whether it held. */
export async function until(
  check: () => boolean | Promise<boolean>,
  boundMs = 5000,
  everyMs = 10,
): Promise<boolean> {
  const deadline = performance.now() + boundMs;
  for (;;) {
    if (await check()) return true;
    if (performance.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
