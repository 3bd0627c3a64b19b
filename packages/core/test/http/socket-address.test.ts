import { describe, expect, test } from 'vitest';
import { directAddress } from '../../src/http/index.js';

const socket = { remoteAddress: '192.0.2.7' };

describe('directAddress', () => {
  test("answers the socket's address when no header could change the client's address", () => {
    expect(directAddress({ socket, rawHeaders: ['Host', 'example.test', 'Accept', '*/*'] })).toBe(
      '192.0.2.7',
    );
    expect(directAddress({ socket, rawHeaders: [] })).toBe('192.0.2.7');
  });

  test.each(['X-Forwarded-For', 'x-forwarded-for', 'X-FORWARDED-FOR'])(
    'leaves the address to the framework when %s is present, in any case and position',
    (name) => {
      expect(directAddress({ socket, rawHeaders: [name, '203.0.113.1'] })).toBeUndefined();
      expect(directAddress({ socket, rawHeaders: ['Host', 'h', name, '203.0.113.1'] })).toBeUndefined();
    },
  );

  test('does not take a value for a name: only names are matched', () => {
    expect(directAddress({ socket, rawHeaders: ['X-Note', 'x-forwarded-for'] })).toBe('192.0.2.7');
  });

  test('leaves the address to the framework for a request with an ip of its own, no socket or no raw headers', () => {
    const ownIp = Object.assign({ socket, rawHeaders: [] as string[] }, { ip: '198.51.100.9' });
    expect(directAddress(ownIp)).toBeUndefined();
    expect(directAddress({ socket: null, rawHeaders: [] })).toBeUndefined();
    expect(directAddress({ rawHeaders: [] })).toBeUndefined();
    expect(directAddress({ socket })).toBeUndefined();
  });
});
