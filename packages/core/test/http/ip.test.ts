import { describe, expect, test } from 'vitest';
import { ip } from '../../src/index.js';
import { ipNetwork, normalizeIp } from '../../src/http/index.js';
import { optionError, req } from './helpers.js';

describe('normalizeIp', () => {
  test.each([
    ['1.2.3.4', '1.2.3.4'],
    [' 10.0.0.1 ', '10.0.0.1'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:1.2.3.4', '1.2.3.4'],
    ['::ffff:0102:0304', '1.2.3.4'],
    ['0:0:0:0:0:ffff:c000:0280', '192.0.2.128'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8::1', '2001:db8::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['::1', '::1'],
    ['::', '::'],
    ['1::', '1::'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'],
    ['2001:db8::1.2.3.4', '2001:db8::102:304'],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeIp(input)).toBe(expected);
  });

  test.each([
    'garbage',
    '1.2.3',
    '256.1.1.1',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    '12345::',
    '1:2:3:4:5:6:7::8',
    '::1.2.3',
    '',
  ])('%j is not an IP address', (input) => {
    expect(normalizeIp(input)).toBeUndefined();
  });
});

describe('ipNetwork', () => {
  test('groups IPv6 by /64 and keeps IPv4 whole', () => {
    expect(ipNetwork('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(ipNetwork('2001:DB8:1:2::1%en0')).toBe('2001:db8:1:2::/64');
    expect(ipNetwork('2001:0db8:0001:0002::ffff')).toBe('2001:db8:1:2::/64');
    expect(ipNetwork('::1')).toBe('::/64');
    expect(ipNetwork('198.51.100.9')).toBe('198.51.100.9');
    expect(ipNetwork('::ffff:198.51.100.9')).toBe('198.51.100.9');
  });

  test('honours other prefix lengths, masking inside a group', () => {
    expect(ipNetwork('2001:db8:1:2ff::1', 56)).toBe('2001:db8:1:200::/56');
    expect(ipNetwork('2001:db8:abcd:1::1', 36)).toBe('2001:db8:a000::/36');
    expect(ipNetwork('2001:db8::1', 128)).toBe('2001:db8::1');
  });

  test('repeat lookups (served from the cache) agree, whatever the prefix length', () => {
    const a = '2001:db8:7:8:9::1';
    expect(ipNetwork(a)).toBe('2001:db8:7:8::/64');
    expect(ipNetwork(a, 48)).toBe('2001:db8:7::/48');
    expect(ipNetwork(a)).toBe('2001:db8:7:8::/64');
    expect(ipNetwork('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(ipNetwork('::ffff:010.1.2.3')).toBe('10.1.2.3');
    expect(ipNetwork('010.001.2.3')).toBe('10.1.2.3');
  });

  test('missing or blank is undefined, anything else non-empty is kept (lower-cased)', () => {
    expect(ipNetwork(undefined)).toBeUndefined();
    expect(ipNetwork('')).toBeUndefined();
    expect(ipNetwork('  ')).toBeUndefined();
    expect(ipNetwork('Unix-Socket')).toBe('unix-socket');
  });
});

describe('ip()', () => {
  test('extracts the network of the request IP', () => {
    expect(ip()(req({ ip: '2001:db8:1:2::5' }))).toBe('2001:db8:1:2::/64');
    expect(ip({ ipv6Subnet: 48 })(req({ ip: '2001:db8:1:2::5' }))).toBe('2001:db8:1::/48');
    expect(ip()(req({ ip: undefined }))).toBeUndefined();
  });

  test.each([0, 129, 1.5, '64', null])('rejects ipv6Subnet %j', (value) => {
    optionError(() => ip({ ipv6Subnet: value as number }), 'ipv6Subnet');
  });
});
