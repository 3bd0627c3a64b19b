import { AdminHttpError } from './respond.js';

// The body of a write: the framework's already parsed body when an adapter passes one (express.json(),
// Fastify's parser have read the stream, so the Request's own body is empty), else the Request's, read
// here with a bound.

/** The most a body may hold, in bytes: a rule or a tier is a few hundred. */
export const MAX_BODY_BYTES = 64 * 1024;

const NO_BODY = 'The request needs a JSON body (Content-Type: application/json).';

/** The request's JSON body; throws AdminHttpError 400 (missing or not JSON) or 413 (too large). */
export async function readBody(request: Request, context: { body?: unknown } | undefined): Promise<unknown> {
  if (context !== undefined && context.body !== undefined) return fromParsed(context.body);
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) throw tooLarge();
  let text: string;
  try {
    text = await readBounded(request);
  } catch (error) {
    if (error instanceof AdminHttpError) throw error;
    throw new AdminHttpError(400, 'The request body could not be read.');
  }
  return parse(text);
}

// A parsed body as a framework hands it: an object (JSON parsed), or text or bytes (a raw or text parser).
function fromParsed(body: unknown): unknown {
  if (typeof body === 'string') return parse(body);
  if (body instanceof Uint8Array) return parse(new TextDecoder().decode(body));
  return body;
}

function parse(text: string): unknown {
  if (text.trim() === '') throw new AdminHttpError(400, NO_BODY);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AdminHttpError(400, `The request body is not JSON: ${(error as Error).message}`);
  }
}

async function readBounded(request: Request): Promise<string> {
  if (request.body === null) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

function tooLarge(): AdminHttpError {
  return new AdminHttpError(413, `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
}
