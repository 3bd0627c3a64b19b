// "@distlimiter/core/admin": the admin API, one framework-neutral Fetch-style handler (Request ->
// Response) that each adapter mounts. Everything it does goes through core's public API.
export {
  createAdminHandler,
  type AdminOptions,
  type AdminHandler,
  ADMIN_OPTION_KEYS,
  DEFAULT_ADMIN_RATE,
} from './handler.js';
export type {
  AdminTarget,
  AdminConfigSource,
  AdminLimitReading,
  AdminProtection,
  AdminIpBlock,
  AdminAudit,
  AdminWriteEvent,
  AdminStatistics,
  AdminLoadState,
} from './target.js';
export {
  type AdminTokens,
  type AdminAccess,
  type AdminCaller,
  ADMIN_TOKEN_ENV,
  ADMIN_READ_TOKEN_ENV,
} from './tokens.js';
export type { AdminErrorBody, AdminProblem } from './respond.js';
export type {
  AdminRulesView,
  AdminTierView,
  AdminRuleView,
  AdminKeyView,
  AdminSourceName,
} from './config-view.js';
export { MAX_BODY_BYTES } from './body.js';
export { AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT } from './control-routes.js';
