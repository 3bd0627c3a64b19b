import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { clientId, MAX_RAW_KEY_LENGTH } from '../src/key-names.js';
import {
  ApiKeys,
  keyIdentity,
  keyIdentityOfDigest,
  presentedKeyDigest,
  SHA256_PREFIX,
  sha256Hex,
} from '../src/policy/api-keys.js';
import { thrown } from './support/thrown.js';

const ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const DEMO = 'demo_free_key_123';
const DEMO_DIGEST = 'fe279956530efc4009f3deaef3a35b040f26c4a56ee7a65285c99463c182afa3';

describe('sha256Hex', () => {
  test('is the lowercase hex SHA-256 of the UTF-8 bytes, as sha256sum prints it', () => {
    expect(sha256Hex('abc')).toBe(ABC);
    expect(sha256Hex(DEMO)).toBe(DEMO_DIGEST);
    expect(sha256Hex('\u00e9')).toBe('4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c');
    expect(sha256Hex('x')).toMatch(/^[0-9a-f]{64}$/);
  });

  test('refuses what has no single UTF-8 encoding, and non-strings', () => {
    for (const v of ['', '\uD800', 'a\uDC00b', 42, undefined]) {
      const e = thrown(() => sha256Hex(v as string));
      expect(e.field).toBe('key');
    }
  });
});

describe('presentedKeyDigest', () => {
  test('is the digest of a key, or undefined for what cannot be one, and never throws', () => {
    expect(presentedKeyDigest('abc')).toBe(ABC);
    expect(presentedKeyDigest('')).toBeUndefined();
    expect(presentedKeyDigest('\uD800')).toBeUndefined();
    expect(presentedKeyDigest('\uFFFD')).toBe(sha256Hex('\uFFFD'));
  });
});

describe('keyIdentity', () => {
  test('is "k#" and the digest, the same in every process and release', () => {
    expect(keyIdentity(DEMO)).toBe(`k#${DEMO_DIGEST}`);
    expect(keyIdentity('abc')).toBe(`k#${ABC}`);
    expect(keyIdentityOfDigest(sha256Hex(DEMO))).toBe(keyIdentity(DEMO));
  });

  test('never contains the key, and matches clientId for a key too long to store raw', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 300 }), (key) => {
        const id = keyIdentity(key);
        expect(id).toMatch(/^k#[0-9a-f]{64}$/);
        // Long enough that it cannot turn up in the hex digits by chance.
        if (key.length > 8) expect(id.includes(key)).toBe(false);
      }),
    );
    const long = 'x'.repeat(MAX_RAW_KEY_LENGTH + 1);
    expect(keyIdentity(long)).toBe(clientId('k', long));
    // A short key through a key function is stored raw ("k:"), never under the "k#" of a hashed one.
    expect(keyIdentity('abc')).not.toBe(clientId('k', 'abc'));
    expect(keyIdentity('abc')).not.toBe(clientId('k', ABC));
  });

  test('an entry listed as sha256:<hex> has the identity k#<hex>', () => {
    expect(keyIdentityOfDigest(ABC)).toBe(`k#${ABC}`);
  });
});

describe('ApiKeys', () => {
  test('finds a key listed raw or hashed, by the presented raw key', () => {
    const keys = new ApiKeys({ [DEMO]: 'free', [`${SHA256_PREFIX}${ABC}`]: 'pro' });
    expect(keys.size).toBe(2);
    expect(keys.tierOf(DEMO)).toBe('free');
    expect(keys.tierOf('abc')).toBe('pro');
    expect(keys.tierOf('abd')).toBeUndefined();
    expect(keys.tierOf('')).toBeUndefined();
    expect(keys.tierOf(`${SHA256_PREFIX}${ABC}`)).toBeUndefined();
    expect(keys.tierOf(ABC)).toBeUndefined();
    expect(keys.tierOfDigest(DEMO_DIGEST)).toBe('free');
    expect(keys.tierOfDigest(ABC)).toBe('pro');
    expect(keys.tierOfDigest(sha256Hex('nope'))).toBeUndefined();
  });

  test('agrees with a plain lookup on random tables', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k.trim() === k && !/^sha256:/i.test(k)),
          fc.constantFrom('free', 'pro'),
        ),
        fc.boolean(),
        fc.string({ maxLength: 12 }),
        (table, hashed, probe) => {
          const written = Object.fromEntries(
            Object.entries(table).map(([k, t]) => [hashed ? `sha256:${sha256Hex(k)}` : k, t]),
          );
          const keys = new ApiKeys(written);
          for (const [k, t] of Object.entries(table)) expect(keys.tierOf(k)).toBe(t);
          expect(keys.tierOf(probe)).toBe(Object.hasOwn(table, probe) ? table[probe] : undefined);
        },
      ),
    );
  });

  test('keeps no raw key', () => {
    const secret = 'sk_live_very_secret_value_0123456789';
    const keys = new ApiKeys({ [secret]: 'pro' });
    expect(inspect(keys, { showHidden: true, depth: Number.POSITIVE_INFINITY })).not.toContain(secret);
    expect(keys.tierOf(secret)).toBe('pro');
    expect(Object.isFrozen(keys)).toBe(true);
  });

  test('a key not well-formed is never found, even when its digest would collide', () => {
    // "\uD800" is hashed as U+FFFD, the same bytes as "\uFFFD".
    const keys = new ApiKeys({ '\uFFFD': 'pro' });
    expect(keys.tierOf('\uFFFD')).toBe('pro');
    expect(keys.tierOf('\uD800')).toBeUndefined();
  });

  test('undefined is an empty table', () => {
    expect(new ApiKeys(undefined).size).toBe(0);
    expect(new ApiKeys({}).tierOf('x')).toBeUndefined();
  });

  test('the same key listed twice is one key; with two tiers it is refused, naming both entries', () => {
    expect(new ApiKeys({ abc: 'pro', [`sha256:${ABC}`]: 'pro' }).size).toBe(1);
    const e = thrown(() => new ApiKeys({ abc: 'free', [`sha256:${ABC}`]: 'pro' }));
    expect(e.field).toBe(`keys["sha256:${ABC}"]`);
    expect(e.value).toBe('pro');
    expect(e.message).toContain('lists the same key as "free"');
    expect(e.message).toContain('a raw key of 3 characters');
  });

  test('tiers are checked against the configured ones, with a suggestion', () => {
    const ok = new ApiKeys({ a_key_1: 'free' }, { tiers: ['free', 'pro'] });
    expect(ok.tierOf('a_key_1')).toBe('free');
    const e = thrown(() => new ApiKeys({ [`sha256:${ABC}`]: 'Pro' }, { tiers: ['free', 'pro'] }));
    expect(e.field).toBe(`keys["sha256:${ABC}"]`);
    expect(e.message).toContain('did you mean "pro"');
    expect(e.message).toContain('free, pro');
    expect(thrown(() => new ApiKeys({ k: 'gold' }, { tiers: ['free'] })).message).not.toContain(
      'did you mean',
    );
  });

  test('errors about a raw key never quote the key', () => {
    const secret = 'sk_live_very_secret_value_0123456789';
    for (const table of [
      { [secret]: 42 },
      { [secret]: '' },
      { [` ${secret}`]: 'pro' },
      { [secret]: 'gold' },
    ]) {
      const e = thrown(() => new ApiKeys(table, { tiers: ['pro'], field: 'config.keys' }));
      expect(e.field).toMatch(/^config\.keys\[".{0,4}…" \(a raw key of \d+ characters\)\]$/);
      expect(e.message).not.toContain(secret);
      expect(inspect(e)).not.toContain(secret);
    }
  });

  test('invalid entries throw InvalidOptionError naming the entry', () => {
    const upper = `sha256:${ABC.toUpperCase()}`;
    expect(thrown(() => new ApiKeys({ [upper]: 'pro' })).field).toBe(`keys[${JSON.stringify(upper)}]`);
    expect(thrown(() => new ApiKeys({ [upper]: 'pro' })).message).toContain('64 lowercase hex digits');
    expect(thrown(() => new ApiKeys({ [`sha256:${ABC.slice(1)}`]: 'pro' })).message).toContain('sha256sum');
    expect(thrown(() => new ApiKeys({ [`SHA256:${ABC}`]: 'pro' })).message).toContain(
      '"sha256:" followed by',
    );
    expect(thrown(() => new ApiKeys({ 'sha256:': 'pro' })).message).toContain('64 lowercase hex digits');
    expect(thrown(() => new ApiKeys({ '': 'pro' })).message).toContain('non-empty');
    expect(thrown(() => new ApiKeys({ 'k\uD800': 'pro' })).message).toContain('well-formed');
    expect(thrown(() => new ApiKeys({ 'key ': 'pro' })).message).toContain(
      'no leading or trailing whitespace',
    );
    expect(thrown(() => new ApiKeys({ key_1: null })).message).toContain('the name of a tier');
    for (const v of [[], 'abc', 42, null]) {
      const e = thrown(() => new ApiKeys(v));
      expect(e.field).toBe('keys');
      expect(e.message).toContain('an object mapping API keys');
    }
  });
});
