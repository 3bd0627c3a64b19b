import http from 'node:http';

/** What a conformance request got back, read in full. */
export interface HttpReply {
  status: number;
  /** Header names lower-case; a repeated header joined with ", ". */
  headers: Record<string, string>;
  text: string;
}

/** How to send one request. */
export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  /**
   * Source address of the connection. Only loopback addresses other than 127.0.0.1 make sense; it is how
   * a test plays a second client without trusting any proxy header.
   */
  localAddress?: string;
}

/** Sends one request to `base + path` over a real socket and reads the whole reply. */
export async function send(base: string, path: string, options: SendOptions = {}): Promise<HttpReply> {
  const method = options.method ?? 'GET';
  if (options.localAddress !== undefined) return sendFrom(options.localAddress, base + path, method, options);
  const response = await fetch(base + path, { method, headers: options.headers });
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name.toLowerCase()] = value;
  });
  return { status: response.status, headers, text: await response.text() };
}

// fetch cannot pick its source address without undici's Agent, so the second-client case uses node:http.
function sendFrom(
  localAddress: string,
  url: string,
  method: string,
  options: SendOptions,
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: options.headers, localAddress, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
        }
        resolve({ status: res.statusCode ?? 0, headers, text });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends `count` requests one after another (never concurrently, so counts are exact) and returns them. */
export async function sendMany(
  base: string,
  path: string,
  count: number,
  options: SendOptions = {},
): Promise<HttpReply[]> {
  const replies: HttpReply[] = [];
  for (let i = 0; i < count; i++) replies.push(await send(base, path, options));
  return replies;
}

/** The numbers in one response's rate-limit headers; undefined where a header is absent or unreadable. */
export interface RateHeaders {
  /** X-RateLimit-Limit. */
  limit: number | undefined;
  /** X-RateLimit-Remaining. */
  remaining: number | undefined;
  /** `q` of RateLimit-Policy (IETF draft: the quota). */
  quota: number | undefined;
  /** `r` of RateLimit (IETF draft: what is left). */
  left: number | undefined;
  /** Retry-After as sent, so the test can check it is an integer. */
  retryAfter: string | undefined;
}

const LEGACY = ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'];
const IETF = ['ratelimit', 'ratelimit-policy'];

/** Reads the rate-limit headers of a reply. */
export function rateHeaders(reply: HttpReply): RateHeaders {
  const h = reply.headers;
  return {
    limit: integer(h['x-ratelimit-limit']),
    remaining: integer(h['x-ratelimit-remaining']),
    quota: param(h['ratelimit-policy'], 'q'),
    left: param(h.ratelimit, 'r'),
    retryAfter: h['retry-after'],
  };
}

/** Which header families a reply carries. */
export function headerFamilies(reply: HttpReply): { legacy: boolean; ietf: boolean } {
  return {
    legacy: LEGACY.some((name) => name in reply.headers),
    ietf: IETF.some((name) => name in reply.headers),
  };
}

function integer(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value.trim()) : undefined;
}

// Structured-field parameters such as `"default";q=100;w=60`: find `;name=<integer>`.
function param(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const match = new RegExp(`;\\s*${name}=(\\d+)`).exec(value);
  return match ? Number(match[1]) : undefined;
}
