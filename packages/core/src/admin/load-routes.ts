import type { AdminContext } from './config-routes.js';
import { AdminHttpError, badField, json } from './respond.js';
import type { AdminCall, Route } from './router.js';
import type { AdminLoadState } from './target.js';

// The load state of issue 13 through the admin API: POST /health sets NORMAL or DEGRADED for the whole
// fleet (with an optional expiry and reason), DELETE /health clears the operator's setting so the
// automatic state (or NORMAL) applies again. GET /health shows it (health-routes.ts).

const FIELDS = ['status', 'expiresInSeconds', 'reason'];
const MAX_REASON = 500;

/** The load-state routes: POST /health and DELETE /health. */
export function loadRoutes(ctx: AdminContext): Route[] {
  return [
    { method: 'POST', path: '/health', run: (call) => setLoad(ctx, call) },
    { method: 'DELETE', path: '/health', run: (call) => clearLoad(ctx, call) },
  ];
}

function loadOf(ctx: AdminContext): AdminLoadState {
  const load = ctx.target.load;
  if (load === undefined) throw new AdminHttpError(501, 'Load states are not enabled on this limiter.');
  return load;
}

async function setLoad(ctx: AdminContext, call: AdminCall): Promise<Response> {
  const load = loadOf(ctx);
  const body = await call.body();
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badField(
      '',
      'expected { "status": "DEGRADED" | "NORMAL", "expiresInSeconds"?: n, "reason"?: text }',
    );
  }
  const b = body as Record<string, unknown>;
  for (const field of Object.keys(b)) {
    if (!FIELDS.includes(field)) throw badField(field, `no such field; known fields: ${FIELDS.join(', ')}`);
  }
  const status = b.status;
  if (status !== 'NORMAL' && status !== 'DEGRADED') {
    throw badField('status', `${JSON.stringify(status) ?? 'missing'} is not "NORMAL" or "DEGRADED"`);
  }
  const seconds = b.expiresInSeconds;
  if (
    seconds !== undefined &&
    (typeof seconds !== 'number' || !Number.isSafeInteger(seconds) || seconds <= 0)
  ) {
    throw badField(
      'expiresInSeconds',
      `${JSON.stringify(seconds)} is not a positive whole number of seconds`,
    );
  }
  const reason = b.reason;
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > MAX_REASON)) {
    throw badField('reason', `is not a text of at most ${MAX_REASON} characters`);
  }
  const view = await load.set(status, {
    expiresInMs: seconds === undefined ? undefined : seconds * 1000,
    reason,
    by: call.caller.name,
  });
  return json(200, { load: view });
}

async function clearLoad(ctx: AdminContext, call: AdminCall): Promise<Response> {
  const view = await loadOf(ctx).clear(call.caller.name);
  return json(200, { load: view });
}
