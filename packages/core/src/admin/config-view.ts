import type { ConfigOrigin, ConfigSnapshot } from '../policy/snapshot.js';
import type { RuleConfig, TierConfig } from '../policy/config/document.js';
import { hintOfKeyName } from './keys.js';
import type { AdminConfigSource } from './target.js';

// GET /rules: the configuration in force as JSON, each tier and rule with where it came from. Keys are
// secrets (or hashes of them): only the overlay's entries are listed, each by a hint, and the total count.

/** Where a tier, rule or key in force came from. */
export type AdminSourceName = 'file' | 'document' | 'redis' | 'local';

/** A tier in force: as in the document, plus its source. */
export type AdminTierView = Partial<TierConfig> & { source: AdminSourceName };

/** A rule in force: as in the document (defaults filled in), plus its source. */
export type AdminRuleView = Partial<RuleConfig> & { id: string; source: AdminSourceName };

/** A key entry of the overlay in force. */
export interface AdminKeyView {
  /** "sha256:" and the first 8 hex digits of the key's SHA-256. */
  key: string;
  tier: string;
  /** When the entry stops applying (ISO 8601), or null. */
  expiresAt: string | null;
  source: AdminSourceName;
}

/** What GET /rules answers. */
export interface AdminRulesView {
  /** The configuration's version (also the ETag): what If-Match names. */
  version: string;
  /** Where the base came from: "file" or "document" (given in code). */
  base: 'file' | 'document';
  /** Where writes go: "redis" (every instance), "local" (this process only), "none" (read-only). */
  overlay: 'redis' | 'local' | 'none';
  /** The overlay's version counter, or null when nothing was published. */
  overlayVersion: number | null;
  defaultTier: string;
  unknownKey: 'reject' | 'default';
  keyBy: { header: string };
  tiers: Record<string, AdminTierView>;
  rules: AdminRuleView[];
  keys: { count: number; overlay: AdminKeyView[] };
}

/** The view of what `source` has in force. */
export function rulesView(source: AdminConfigSource): AdminRulesView {
  const inForce = source.inForce?.();
  const snapshot: ConfigSnapshot = inForce?.snapshot ?? source.current();
  const base = inForce?.base ?? 'document';
  const overlay = inForce?.overlay ?? 'none';
  const overlayName: AdminSourceName = overlay === 'local' ? 'local' : 'redis';
  const nameOf = (origin: ConfigOrigin | undefined): AdminSourceName =>
    origin === 'redis' ? overlayName : base;
  const doc = inForce?.document;
  const tiers: Record<string, AdminTierView> = {};
  for (const name of snapshot.tiers.keys()) {
    tiers[name] = { ...doc?.tiers[name], source: nameOf(snapshot.origins.tiers.get(name)) };
  }
  const rules: AdminRuleView[] = snapshot.rules.map((r) => ({
    ...(doc?.rules.find((d) => d.id === r.id) ?? { id: r.id }),
    source: nameOf(snapshot.origins.rules.get(r.id)),
  }));
  return {
    version: snapshot.version,
    base,
    overlay,
    overlayVersion: snapshot.origins.overlayVersion ?? null,
    defaultTier: snapshot.defaultTier,
    unknownKey: snapshot.unknownKey,
    keyBy: { header: snapshot.keyBy },
    tiers,
    rules,
    keys: {
      count: doc === undefined ? 0 : Object.keys(doc.keys).length,
      overlay: (inForce?.overlayKeys ?? []).map((k) => ({
        key: hintOfKeyName(k.key),
        tier: k.tier,
        expiresAt: k.expiresAt === undefined ? null : new Date(k.expiresAt).toISOString(),
        source: overlayName,
      })),
    },
  };
}
