// IP parsing by hand rather than through node:net, because the key must be canonical (one spelling per
// address) and IPv6 clients must be grouped by network: a single host usually owns a whole /64, so
// limiting each address separately would let it rotate through 2^64 fresh buckets.

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEXTET = /^[0-9a-f]{1,4}$/;

/**
 * Whether `s` is dotted IPv4 already in canonical form (no leading zeros, octets up to 255): the common
 * case on every request, checked with one allocation-free scan.
 */
function isCanonicalIpv4(s: string): boolean {
  const n = s.length;
  if (n < 7 || n > 15) return false;
  let dots = 0;
  let octet = 0;
  let digits = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return false;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return false; // leading zero
      octet = octet * 10 + (c - 48);
      if (octet > 255) return false;
      digits++;
    } else {
      return false;
    }
  }
  return dots === 3 && digits > 0;
}

/** Parses dotted IPv4 into its four octets, or undefined when it is not one. */
function parseIpv4(text: string): number[] | undefined {
  const m = IPV4.exec(text);
  if (!m) return undefined;
  const out = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
  for (const n of out) if (n > 255) return undefined;
  return out;
}

/** Parses IPv6 text (lower-case, no zone, no brackets) into eight 16-bit groups, or undefined. */
function parseIpv6(text: string): number[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const groups: number[] = [];
  const parts = halves.length === 2 ? [...head, ...tail] : head;
  // An embedded IPv4 address may only end the address, where it stands for the last two groups.
  let v4: number[] | undefined;
  const last = parts[parts.length - 1];
  if (last?.includes('.')) {
    v4 = parseIpv4(last);
    if (!v4) return undefined;
    parts.pop();
  }
  for (const p of parts) {
    if (!HEXTET.test(p)) return undefined;
    groups.push(Number.parseInt(p, 16));
  }
  if (v4) groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
  if (halves.length === 2) {
    // "::" stands for at least one zero group.
    if (groups.length > 7) return undefined;
    const headCount = head.length;
    const zeros = new Array<number>(8 - groups.length).fill(0);
    groups.splice(headCount, 0, ...zeros);
  }
  return groups.length === 8 ? groups : undefined;
}

/** Renders eight groups in RFC 5952 canonical form: lower-case, no leading zeros, longest zero run as "::". */
function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1; // a single zero group is never compressed (RFC 5952 4.2.2)
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

/** Strips what frameworks leave around an address: whitespace, brackets and an IPv6 zone id ("%eth0"). */
function clean(address: string): string {
  let s = address.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  return s.toLowerCase();
}

/** True for ::ffff:a.b.c.d, which is an IPv4 client seen through a dual-stack socket. */
function isV4Mapped(g: readonly number[]): boolean {
  return g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff;
}

function v4FromGroups(g: readonly number[]): string {
  return `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
}

/**
 * Canonical spelling of an IP address: dotted IPv4 (IPv4-mapped IPv6 folded to it), or RFC 5952 IPv6
 * with zone id and brackets removed. Returns undefined when `address` is not an IP address.
 */
export function normalizeIp(address: string): string | undefined {
  const s = clean(address);
  if (!s.includes(':')) {
    const v4 = parseIpv4(s);
    return v4 ? v4.join('.') : undefined;
  }
  const g = parseIpv6(s);
  if (!g) return undefined;
  return isV4Mapped(g) ? v4FromGroups(g) : formatIpv6(g);
}

/**
 * The network a client is limited as: an IPv4 address as is, an IPv6 address reduced to its
 * `/ipv6Subnet` network (e.g. "2001:db8:1:2::/64"). Strings that are not IP addresses are returned
 * trimmed and lower-cased, so an odd value from a proxy still limits its sender rather than no one.
 * Returns undefined only for a missing or blank address.
 */
export function ipNetwork(address: string | undefined, ipv6Subnet = 64): string | undefined {
  if (typeof address !== 'string') return undefined;
  if (isCanonicalIpv4(address)) return address;
  // Dual-stack servers report every IPv4 client this way, so it gets its own fast path too.
  if (address.startsWith('::ffff:')) {
    const tail = address.slice(7);
    if (isCanonicalIpv4(tail)) return tail;
  }
  // Only address-sized strings are cached, so odd long values cannot bloat the cache.
  const cache = ipv6Subnet === 64 && address.length <= 64 ? cache64 : undefined;
  const hit = cache?.get(address);
  if (hit !== undefined) return hit;
  const network = slowNetwork(address, ipv6Subnet);
  if (cache !== undefined && network !== undefined) {
    // Cleared rather than evicted one by one: cheap, and a client rotating addresses only refills it.
    if (cache.size >= CACHE_SIZE) cache.clear();
    cache.set(address, network);
  }
  return network;
}

// Full parsing of IPv6 costs microseconds; repeat clients hit this cache instead.
const CACHE_SIZE = 10_000;
const cache64 = new Map<string, string>();

function slowNetwork(address: string, ipv6Subnet: number): string | undefined {
  const s = clean(address);
  if (s === '') return undefined;
  if (!s.includes(':')) {
    const v4 = parseIpv4(s);
    return v4 ? v4.join('.') : s;
  }
  const g = parseIpv6(s);
  if (!g) return s;
  if (isV4Mapped(g)) return v4FromGroups(g);
  if (ipv6Subnet >= 128) return formatIpv6(g);
  const masked = g.map((group, i) => {
    const bits = ipv6Subnet - i * 16;
    if (bits >= 16) return group;
    if (bits <= 0) return 0;
    return group & (0xffff << (16 - bits)) & 0xffff;
  });
  return `${formatIpv6(masked)}/${ipv6Subnet}`;
}
