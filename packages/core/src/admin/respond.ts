import type { ConfigProblem } from '../errors.js';

// Every answer of the admin API is JSON, errors included: `{ error, message }` with the status's reason
// phrase as `error`, plus what the caller needs to act (the problems of a bad body, the version in force).

/** The body of every error answer. */
export interface AdminErrorBody {
  /** The status's reason phrase, e.g. "Bad Request". */
  error: string;
  /** What went wrong and what to do, in a sentence. */
  message: string;
  /** A 400's problems: each field to fix, with its path relative to the body (`at: "body"`) or to the configuration. */
  problems?: AdminProblem[];
  /** A 412's version in force (also the ETag header). */
  version?: string;
}

/** A problem of a bad request: a path relative to the request's body, or to the configuration a change would make. */
export interface AdminProblem extends ConfigProblem {
  /** "body": `path` is within the request's body ("" for the body itself); "path": a parameter of the URL (":key"); "configuration": within the merged document. */
  readonly at: 'body' | 'path' | 'configuration';
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** A JSON response; `headers` are added to Content-Type and Cache-Control. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      // Answers describe live state: no cache (or proxy) may serve an old one.
      'Cache-Control': 'no-store',
      ...headers,
    },
  });
}

/** A request the admin API answers with an error: thrown by a route, turned into a JSON response. */
export class AdminHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Partial<AdminErrorBody> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AdminHttpError';
  }

  /** This error as its response. */
  response(): Response {
    return errorResponse(this.status, this.message, this.extra, this.headers);
  }
}

/** The JSON response of an error. */
export function errorResponse(
  status: number,
  message: string,
  extra: Partial<AdminErrorBody> = {},
  headers: Record<string, string> = {},
): Response {
  const body: AdminErrorBody = { error: REASONS[status] ?? 'Error', message, ...extra };
  return json(status, body, headers);
}

/** A 400 listing problems. */
export function badRequest(message: string, problems: AdminProblem[]): AdminHttpError {
  return new AdminHttpError(400, message, { problems });
}

/** A 400 for one field of the body. */
export function badField(path: string, message: string): AdminHttpError {
  return badRequest(`The request body is not valid: ${path ? `${path}: ` : ''}${message}`, [
    { path, message, at: 'body' },
  ]);
}

/** The ETag header of a configuration version. */
export const etagOf = (version: string) => ({ ETag: `"${version}"` });
