import { InvalidConfigError } from '../errors.js';
import type { ConfigDocument } from '../policy/config/document.js';
import { formatPath } from '../policy/config/problems.js';
import { checkConfig } from '../policy/config/validate.js';
import type { ConfigSnapshot } from '../policy/snapshot.js';
import type { ConfigOverlayChange } from '../policy/source/overlay.js';
import { type AdminRulesView, rulesView } from './config-view.js';
import { digestOfKeyName, digestOfKeyParam, keyHintOf } from './keys.js';
import { AdminHttpError, type AdminProblem, badField, badRequest, etagOf, json } from './respond.js';
import type { AdminCall, Route } from './router.js';
import type { AdminConfigSource, AdminTarget } from './target.js';

// The configuration endpoints: read what is in force; change rules, tiers and keys through the source's
// overlay (publish: Redis for every instance, or this process's own). A change is validated as part of the
// merged document before it is published, so its problems come back with paths within the request's body.

/** What the routes share: the target and the clock expiries are computed by. */
export interface AdminContext {
  readonly target: AdminTarget;
  readonly clock: () => number;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The configuration routes: /rules, /tiers/:name, /keys/:key. */
export function configRoutes(ctx: AdminContext): Route[] {
  return [
    { method: 'GET', path: '/rules', run: async () => getRules(ctx) },
    { method: 'POST', path: '/rules', run: (call) => postRule(ctx, call) },
    { method: 'DELETE', path: '/rules/:id', run: (call) => deleteEntry(ctx, call, 'rules') },
    { method: 'PUT', path: '/tiers/:name', run: (call) => putTier(ctx, call) },
    { method: 'DELETE', path: '/tiers/:name', run: (call) => deleteEntry(ctx, call, 'tiers') },
    { method: 'PUT', path: '/keys/:key', run: (call) => putKey(ctx, call) },
    { method: 'DELETE', path: '/keys/:key', run: (call) => deleteKey(ctx, call) },
  ];
}

/** The limiter's configuration source; 501 when it has none. */
export function sourceOf(ctx: AdminContext): AdminConfigSource {
  const source = ctx.target.source;
  if (source === undefined) {
    throw new AdminHttpError(
      501,
      'This limiter has no configuration (its `config` option), so it has no tiers, rules or keys to show or change.',
    );
  }
  return source;
}

function getRules(ctx: AdminContext): Response {
  const view: AdminRulesView = rulesView(sourceOf(ctx));
  return json(200, view, etagOf(view.version));
}

// The source, when it can take writes; 501 when it cannot publish.
function publisherOf(ctx: AdminContext): Required<Pick<AdminConfigSource, 'publish'>> & AdminConfigSource {
  const source = sourceOf(ctx);
  if (typeof source.publish !== 'function' || source.inForce?.().overlay === 'none') {
    throw new AdminHttpError(
      501,
      'The configuration cannot be changed here: its source has no overlay to publish to (give the limiter a ' +
        'RedisBackend, or build the ConfigSource with the redis option, or with localOverlay: true for one instance).',
    );
  }
  return source as Required<Pick<AdminConfigSource, 'publish'>> & AdminConfigSource;
}

/**
 * The version a write must be made at, from If-Match ("<version>", a bare version, a list, or *); undefined
 * when the request sets no condition. The version in force here passes at once; one other version is left
 * to publish to judge (on Redis, against the overlay as stored: this instance may not have applied the
 * latest change yet); several others are a 412.
 */
function ifMatch(call: AdminCall, snapshot: ConfigSnapshot): string | undefined {
  const header = call.request.headers.get('if-match');
  if (header === null || header.trim() === '') return undefined;
  const tags = header.split(',').map((t) =>
    t
      .trim()
      .replace(/^W\//, '')
      .replace(/^"(.*)"$/, '$1'),
  );
  if (tags.includes('*')) return undefined;
  if (tags.includes(snapshot.version)) return snapshot.version;
  if (tags.length === 1 && tags[0] !== '') return tags[0];
  throw versionMismatch(snapshot.version);
}

function versionMismatch(current: string | undefined): AdminHttpError {
  return new AdminHttpError(
    412,
    'The configuration changed since the version in If-Match: read it again (GET /rules) and retry.',
    current === undefined ? {} : { version: current },
    current === undefined ? {} : etagOf(current),
  );
}

// Publishes, turning the source's refusals into answers: 400 with the problems, 412 on another version.
async function publish(
  source: Required<Pick<AdminConfigSource, 'publish'>>,
  change: ConfigOverlayChange,
  ifVersion: string | undefined,
): Promise<ConfigSnapshot> {
  try {
    return await source.publish(change, ifVersion === undefined ? undefined : { ifVersion });
  } catch (error) {
    if (error instanceof Error && error.name === 'ConfigVersionError') {
      throw versionMismatch((error as Error & { current?: string }).current);
    }
    if (error instanceof InvalidConfigError) {
      const problems = error.problems.map((p): AdminProblem => ({ ...p, at: 'configuration' }));
      throw badRequest('The change would make the configuration invalid.', problems);
    }
    throw error;
  }
}

/**
 * Validates `change` applied to the document in force (as a copy), with the problems inside the changed
 * entry (at `entry`, a document path) given relative to the request's body; 400 when there are any.
 * Skipped when the source cannot show its document: publish validates in any case.
 */
function prevalidate(
  source: AdminConfigSource,
  apply: (doc: Record<string, unknown> & ConfigDocument) => string,
  // What a problem at the entry itself is about: the body, or (a tier's) name in the path.
  entryProblem: { path: string; at: 'body' | 'path' } = { path: '', at: 'body' },
): void {
  const doc = source.inForce?.().document;
  if (doc === undefined) return;
  const copy = JSON.parse(JSON.stringify(doc)) as Record<string, unknown> & ConfigDocument;
  const entry = apply(copy);
  const check = checkConfig(copy);
  if (check.ok) return;
  const problems = check.problems.map((p): AdminProblem => {
    if (p.path === entry) return { ...entryProblem, message: p.message };
    if (p.path.startsWith(`${entry}.`))
      return { path: p.path.slice(entry.length + 1), message: p.message, at: 'body' };
    if (p.path.startsWith(`${entry}[`))
      return { path: p.path.slice(entry.length), message: p.message, at: 'body' };
    return { ...p, at: 'configuration' };
  });
  const first = problems[0]!;
  throw badRequest(
    `The request body is not valid: ${first.path ? `${first.path}: ` : ''}${first.message}` +
      (problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''),
    problems,
  );
}

async function postRule(ctx: AdminContext, call: AdminCall): Promise<Response> {
  const source = publisherOf(ctx);
  const body = await call.body();
  if (!isObject(body)) {
    throw badField(
      '',
      'expected a rule such as { "id": "login", "match": { "path": "/api/login" }, "rate": "3/minute" }',
    );
  }
  if (typeof body.id !== 'string' || body.id === '')
    throw badField('id', "missing; expected the rule's id, a name");
  const id = body.id;
  const snapshot = source.current();
  const ifVersion = ifMatch(call, snapshot);
  prevalidate(source, (doc) => {
    let at = doc.rules.findIndex((r) => r.id === id);
    if (at < 0) at = doc.rules.length;
    doc.rules[at] = body as never;
    return formatPath(['rules', at]);
  });
  const existed = snapshot.rules.some((r) => r.id === id);
  const after = await publish(source, { rules: { [id]: body as never } }, ifVersion);
  const view = rulesView(source);
  const rule = view.rules.find((r) => r.id === id);
  return json(existed ? 200 : 201, { rule, version: after.version }, etagOf(after.version));
}

async function putTier(ctx: AdminContext, call: AdminCall): Promise<Response> {
  const source = publisherOf(ctx);
  const name = call.params.name!;
  const body = await call.body();
  if (!isObject(body)) throw badField('', 'expected a tier such as { "rate": "10/minute", "burst": 20 }');
  const snapshot = source.current();
  const ifVersion = ifMatch(call, snapshot);
  // The body is an object, so a problem of the entry itself is about its name.
  prevalidate(
    source,
    (doc) => {
      doc.tiers[name] = body as never;
      return formatPath(['tiers', name]);
    },
    { path: ':name', at: 'path' },
  );
  const existed = snapshot.tiers.has(name);
  const after = await publish(source, { tiers: { [name]: body as never } }, ifVersion);
  const tier = rulesView(source).tiers[name];
  return json(existed ? 200 : 201, { name, tier, version: after.version }, etagOf(after.version));
}

// DELETE /rules/:id and /tiers/:name: only what the overlay holds (in force or not: removing an entry the
// merge rejected repairs the configuration); 409 for what only the base holds.
async function deleteEntry(
  ctx: AdminContext,
  call: AdminCall,
  section: 'rules' | 'tiers',
): Promise<Response> {
  const source = publisherOf(ctx);
  const name = section === 'rules' ? call.params.id! : call.params.name!;
  const what = section === 'rules' ? `rule "${name}"` : `tier "${name}"`;
  const snapshot = source.current();
  const inForce = source.inForce?.();
  const inOverlay =
    inForce === undefined
      ? snapshot.origins[section].get(name) === 'redis'
      : inForce.overlayNames[section].includes(name);
  if (!inOverlay) {
    if (!snapshot.origins[section].has(name))
      throw new AdminHttpError(404, `There is no ${what} in the configuration.`);
    throw new AdminHttpError(
      409,
      `The ${what} comes from the ${inForce?.base ?? 'document'}, not from the API: change it there (a ${section === 'rules' ? 'POST /rules' : 'PUT'} overrides it).`,
    );
  }
  const ifVersion = ifMatch(call, snapshot);
  const after = await publish(source, { [section]: { [name]: null } }, ifVersion);
  // When the overlay overrode an entry of the base, the base's applies again.
  const restored = after.origins[section].has(name) ? (inForce?.base ?? 'document') : null;
  return json(200, { removed: name, restored, version: after.version }, etagOf(after.version));
}

async function putKey(ctx: AdminContext, call: AdminCall): Promise<Response> {
  const source = publisherOf(ctx);
  const digest = digestOfKeyParam(call.params.key!);
  const body = await call.body();
  if (!isObject(body))
    throw badField('', 'expected { "tier": "<tier name>", "expiresInSeconds"?: <seconds> }');
  for (const field of Object.keys(body)) {
    if (field !== 'tier' && field !== 'expiresInSeconds') {
      throw badField(field, 'no such field; known fields: tier, expiresInSeconds');
    }
  }
  const snapshot = source.current();
  const { tier, expiresInSeconds } = body;
  if (typeof tier !== 'string' || !snapshot.tiers.has(tier)) {
    const tiers = [...snapshot.tiers.keys()].join(', ');
    throw badField(
      'tier',
      `${JSON.stringify(tier) ?? 'missing'} is not a tier of the configuration; tiers: ${tiers}`,
    );
  }
  if (
    expiresInSeconds !== undefined &&
    (typeof expiresInSeconds !== 'number' || !Number.isSafeInteger(expiresInSeconds) || expiresInSeconds <= 0)
  ) {
    throw badField(
      'expiresInSeconds',
      `${JSON.stringify(expiresInSeconds)} is not a positive whole number of seconds`,
    );
  }
  const ifVersion = ifMatch(call, snapshot);
  const expiresAt = expiresInSeconds === undefined ? undefined : ctx.clock() + expiresInSeconds * 1000;
  // Only the hash goes into the overlay: the raw key (if that is what the path held) is not kept anywhere.
  const entry = expiresAt === undefined ? tier : { tier, expiresAt };
  const after = await publish(source, { keys: { [`sha256:${digest}`]: entry } }, ifVersion);
  return json(
    200,
    {
      key: keyHintOf(digest),
      tier,
      expiresAt: expiresAt === undefined ? null : new Date(expiresAt).toISOString(),
      version: after.version,
    },
    etagOf(after.version),
  );
}

async function deleteKey(ctx: AdminContext, call: AdminCall): Promise<Response> {
  const source = publisherOf(ctx);
  const digest = digestOfKeyParam(call.params.key!);
  const hint = keyHintOf(digest);
  const entry = source.inForce?.().overlayKeys.find((k) => digestOfKeyName(k.key) === digest);
  if (entry === undefined) {
    const listed = ctx.target.tierOfKey(`sha256:${digest}`) !== undefined;
    if (listed) {
      throw new AdminHttpError(
        409,
        `The key ${hint} is listed in the configuration's base, not set through the API: change it there.`,
      );
    }
    throw new AdminHttpError(404, `The key ${hint} has no entry set through the API.`);
  }
  const snapshot = source.current();
  const ifVersion = ifMatch(call, snapshot);
  const after = await publish(source, { keys: { [entry.key]: null } }, ifVersion);
  const now = ctx.target.tierOfKey(`sha256:${digest}`);
  return json(200, { removed: hint, tier: now?.tier ?? null, version: after.version }, etagOf(after.version));
}
