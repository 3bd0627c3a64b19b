import { createHash } from 'node:crypto';

/** The hex SHA-256 of a key, as a `keys` name lists it. */
export const hashOf = (key: string) => `sha256:${createHash('sha256').update(key).digest('hex')}`;

/** The raw key the issue's document hashes. */
export const PRO_KEY = 'pro_key_0123456789';

/** A document under test: tests change any part of it, valid or not. */
// biome-ignore lint/suspicious/noExplicitAny: tests reach into and break every part of the document.
export type Doc = Record<string, any>;

/** The document of issue 11, with a real hash in place of its placeholder; a fresh copy each call. */
export function issueDocument(): Doc {
  return {
    version: 1,
    keyBy: { header: 'x-api-key' },
    defaultTier: 'anonymous',
    unknownKey: 'reject',
    tiers: {
      anonymous: { rate: '5/minute' },
      free: { rate: '10/minute', burst: 20, degraded: '2/minute' },
      pro: { rate: '100/minute', burst: 150 },
      enterprise: { rate: ['1000/minute', '100000/day'] },
    },
    keys: { demo_free_key_123: 'free', [hashOf(PRO_KEY)]: 'pro' },
    rules: [
      { id: 'login', match: { methods: ['POST'], path: '/api/login' }, rate: '3/minute', keyBy: 'ip' },
      {
        id: 'search',
        match: { path: '/api/search/**' },
        rate: '600/hour',
        cost: 5,
        mode: 'shadow',
        tiers: { free: { rate: '20/hour' } },
      },
    ],
  };
}
