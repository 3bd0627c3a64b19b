import { blockTarget } from '../control/blocks.js';
import { keyIdentityOfDigest } from '../policy/api-keys.js';
import { type AdminContext, sourceOf } from './config-routes.js';
import { digestOfKeyParam, keyHintOf } from './keys.js';
import { AdminHttpError, badField, json } from './respond.js';
import type { AdminCall, Route } from './router.js';
import type { AdminAudit, AdminProtection, AdminStatistics } from './target.js';

// The control endpoints: statistics, one key's limits read without spending and its reset, IP blocks, and
// the audit log. Each part is optional on the target; without it, its endpoints answer 501.

/** GET /audit's default and largest `limit`. */
export const AUDIT_DEFAULT_LIMIT = 100;
export const AUDIT_MAX_LIMIT = 1000;
const HOUR_MS = 3_600_000;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The control routes: /stats, /stats/:key, /keys/:key/reset, /blocks, /blocks/:ip, /audit. */
export function controlRoutes(ctx: AdminContext): Route[] {
  return [
    { method: 'GET', path: '/stats', run: async () => json(200, await statisticsOf(ctx).read()) },
    { method: 'GET', path: '/stats/:key', run: (call) => keyStats(ctx, call) },
    { method: 'POST', path: '/keys/:key/reset', run: (call) => resetKey(ctx, call) },
    {
      method: 'GET',
      path: '/blocks',
      run: async () => json(200, { blocks: await protectionOf(ctx).list() }),
    },
    { method: 'POST', path: '/blocks', run: (call) => addBlock(ctx, call) },
    { method: 'DELETE', path: '/blocks/:ip', run: (call) => liftBlock(ctx, call) },
    { method: 'GET', path: '/audit', run: (call) => readAudit(ctx, call) },
  ];
}

function statisticsOf(ctx: AdminContext): AdminStatistics {
  const statistics = ctx.target.statistics;
  if (statistics === undefined) throw notEnabled('Statistics are');
  return statistics;
}

function protectionOf(ctx: AdminContext): AdminProtection {
  const protection = ctx.target.protection;
  if (protection === undefined) throw notEnabled('IP blocks (API-key protection) are');
  return protection;
}

function auditOf(ctx: AdminContext): AdminAudit {
  const audit = ctx.target.audit;
  if (audit === undefined) throw notEnabled('The audit log is');
  return audit;
}

function notEnabled(what: string): AdminHttpError {
  return new AdminHttpError(501, `${what} not enabled on this limiter.`);
}

// GET /stats/:key: the key's tier (from the configuration, or ?tier= for a key only the keyStore knows)
// and every limit on it, read without spending.
async function keyStats(ctx: AdminContext, call: AdminCall): Promise<Response> {
  const source = sourceOf(ctx);
  const digest = digestOfKeyParam(call.params.key!);
  const hint = keyHintOf(digest);
  const listed = ctx.target.tierOfKey(`sha256:${digest}`);
  const asked = call.url.searchParams.get('tier');
  let tier = listed?.tier;
  if (tier === undefined) {
    if (asked === null) {
      throw new AdminHttpError(
        404,
        `The key ${hint} is not listed in the configuration; for a key your keyStore knows, name its tier: ?tier=<name>.`,
      );
    }
    tier = asked;
  }
  if (!source.current().tiers.has(tier)) {
    throw new AdminHttpError(400, `"${tier}" is not a tier of the configuration.`, {
      problems: [{ path: 'tier', message: 'is not a tier of the configuration', at: 'path' }],
    });
  }
  const identity = listed?.identity ?? keyIdentityOfDigest(digest);
  const readings = await ctx.target.peekIdentity(identity, tier);
  const limits = readings.map((r) => ({
    owner: r.owner,
    kind: r.kind ?? (r.owner === tier ? 'tier' : 'rule'),
    limit: r.limit,
    used: r.used ?? Math.max(0, r.limit - r.remaining),
    remaining: r.remaining,
    resetAfterMs: r.resetAfterMs,
  }));
  return json(200, { key: hint, tier, listed: listed !== undefined, limits });
}

async function resetKey(ctx: AdminContext, call: AdminCall): Promise<Response> {
  sourceOf(ctx);
  const digest = digestOfKeyParam(call.params.key!);
  // By the key's identity, listed or not (a keyStore key is counted under the same identity).
  await ctx.target.resetIdentity(keyIdentityOfDigest(digest));
  return json(200, { key: keyHintOf(digest), reset: true });
}

const EXPECTED_IP =
  'an IPv4 address such as "203.0.113.7", or an IPv6 /64 network such as "2001:db8:1:2::/64"';

/**
 * An address an operator names, normalised as the HTTP layer keys clients (blockTarget): IPv4, or an IPv6
 * "<network>/64" (a bare IPv6 address stands for its /64); undefined when it is neither.
 */
function blockAddress(value: unknown): string | undefined {
  try {
    return blockTarget(value);
  } catch {
    return undefined;
  }
}

async function addBlock(ctx: AdminContext, call: AdminCall): Promise<Response> {
  const protection = protectionOf(ctx);
  const body = await call.body();
  if (!isObject(body))
    throw badField('', 'expected { "ip": "<address or IPv6 /64>", "durationSeconds": <seconds> }');
  for (const field of Object.keys(body)) {
    if (field !== 'ip' && field !== 'durationSeconds') {
      throw badField(field, 'no such field; known fields: ip, durationSeconds');
    }
  }
  const ip = blockAddress(body.ip);
  if (ip === undefined) throw badField('ip', `${JSON.stringify(body.ip) ?? 'missing'} is not ${EXPECTED_IP}`);
  const seconds = body.durationSeconds;
  if (typeof seconds !== 'number' || !Number.isSafeInteger(seconds) || seconds <= 0) {
    throw badField(
      'durationSeconds',
      `${JSON.stringify(seconds) ?? 'missing'} is not a positive whole number of seconds`,
    );
  }
  const block = await protection.block(ip, seconds * 1000, call.caller.name);
  return json(201, { block: isObject(block) ? block : { ip, untilMs: ctx.clock() + seconds * 1000 } });
}

async function liftBlock(ctx: AdminContext, call: AdminCall): Promise<Response> {
  const protection = protectionOf(ctx);
  const ip = blockAddress(call.params.ip);
  if (ip === undefined) {
    throw new AdminHttpError(400, `The address in the path is not ${EXPECTED_IP} (URL-encoded).`, {
      problems: [{ path: ':ip', message: `is not ${EXPECTED_IP}`, at: 'path' }],
    });
  }
  const lifted = await protection.unblock(ip, call.caller.name);
  if (lifted === false) throw new AdminHttpError(404, `There is no block on ${ip}.`);
  return json(200, { unblocked: ip });
}

async function readAudit(ctx: AdminContext, call: AdminCall): Promise<Response> {
  const audit = auditOf(ctx);
  const params = call.url.searchParams;
  const sinceText = params.get('since');
  let since = ctx.clock() - HOUR_MS;
  if (sinceText !== null) {
    since = /^\d+$/.test(sinceText) ? Number(sinceText) : Date.parse(sinceText);
    if (!Number.isFinite(since))
      throw queryProblem('since', 'is not a time: milliseconds since the epoch, or ISO 8601');
  }
  const limitText = params.get('limit');
  let limit = AUDIT_DEFAULT_LIMIT;
  if (limitText !== null) {
    limit = /^\d+$/.test(limitText) ? Number(limitText) : Number.NaN;
    if (!(limit >= 1 && limit <= AUDIT_MAX_LIMIT)) {
      throw queryProblem('limit', `is not a whole number from 1 to ${AUDIT_MAX_LIMIT}`);
    }
  }
  const events = await audit.read(since, limit);
  return json(200, { since: new Date(since).toISOString(), events });
}

function queryProblem(name: string, message: string): AdminHttpError {
  return new AdminHttpError(400, `The query parameter "${name}" ${message}.`, {
    problems: [{ path: `?${name}`, message, at: 'path' }],
  });
}
