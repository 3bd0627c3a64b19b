import { describe, expect, test } from 'vitest';
import {
  BlockMirror,
  blockField,
  blockJson,
  blockTarget,
  type IpBlock,
  parseBlock,
  readBlocks,
} from '../../src/control/blocks.js';
import { InvalidOptionError } from '../../src/errors.js';

// The pieces of IP blocks that need no store: how an operator's address is read, how the blocks hash is
// read back, and how the mirror keeps changes made while a full read was under way.

const block = (ip: string, sinceMs: number, untilMs: number, extra: Partial<IpBlock> = {}): IpBlock => ({
  ip,
  sinceMs,
  untilMs,
  offence: 1,
  reason: 'invalid-keys',
  ...extra,
});

describe('blockTarget', () => {
  test.each([
    ['203.0.113.7', '203.0.113.7'],
    [' 203.0.113.7 ', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2::/64', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2:abcd::9/64', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:abcd::9', '2001:db8:1:2::/64'],
    ['[2001:db8::1]', '2001:db8::/64'],
  ])('%j is blocked as %j', (input, expected) => {
    expect(blockTarget(input)).toBe(expected);
  });

  test.each([
    'nope',
    '',
    '203.0.113.256',
    '203.0.113.7/32',
    '203.0.113.7/64',
    '2001:db8::/48',
    '2001:db8::/128',
    '/64',
    42,
    undefined,
  ])('%j is refused, naming the field', (input) => {
    let error: unknown;
    try {
      blockTarget(input, 'ip');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).field).toBe('ip');
  });
});

describe('readBlocks', () => {
  test('the newest live block per client wins; expired and unreadable fields are dead', () => {
    const old = block('203.0.113.7', 1000, 9000);
    const newer = block('203.0.113.7', 2000, 5000, { reason: 'admin', offence: 0, by: 'ops' });
    const expired = block('198.51.100.1', 100, 3000);
    const hash = {
      [blockField(old)]: blockJson(old),
      [blockField(newer)]: blockJson(newer),
      [blockField(expired)]: blockJson(expired),
      junk: '{not json',
    };
    const read = readBlocks(hash, 3000);
    expect([...read.live.values()]).toEqual([newer]);
    expect(read.fields.get('203.0.113.7')?.sort()).toEqual([blockField(old), blockField(newer)].sort());
    expect(read.dead.sort()).toEqual([blockField(expired), 'junk'].sort());
  });

  test('parseBlock refuses what is not a block', () => {
    expect(parseBlock('{"ip":"1.2.3.4"}')).toBeUndefined();
    expect(parseBlock({ ...block('1.2.3.4', 1, 2), reason: 'other' })).toBeUndefined();
    expect(parseBlock(blockJson(block('1.2.3.4', 1, 2)))).toEqual(block('1.2.3.4', 1, 2));
  });
});

describe('BlockMirror', () => {
  test('a full read replaces the mirror but not what changed since it began', () => {
    const mirror = new BlockMirror();
    const a = block('10.0.0.1', 0, 100);
    const b = block('10.0.0.2', 0, 100);
    mirror.put(a);
    mirror.put(b);
    const mark = mirror.mark();
    // While the read is under way: a new block here, and a lift.
    const c = block('10.0.0.3', 10, 100);
    mirror.put(c);
    mirror.remove('10.0.0.1', 10);
    // The read saw a and b but neither change.
    mirror.replace(
      new Map([
        ['10.0.0.1', a],
        ['10.0.0.2', b],
      ]),
      mark,
    );
    expect(mirror.live(20).map((x) => x.ip)).toEqual(['10.0.0.2', '10.0.0.3']);
    // The next read is the truth again.
    mirror.replace(new Map([['10.0.0.1', a]]), mirror.mark());
    expect(mirror.live(20).map((x) => x.ip)).toEqual(['10.0.0.1']);
  });

  test('an older block does not replace a newer one; expired blocks are absent', () => {
    const mirror = new BlockMirror();
    const newer = block('10.0.0.1', 50, 200);
    mirror.put(newer);
    mirror.put(block('10.0.0.1', 10, 900));
    expect(mirror.get('10.0.0.1', 60)).toEqual(newer);
    expect(mirror.get('10.0.0.1', 200)).toBeUndefined();
    expect(mirror.size).toBe(0);
  });
});
