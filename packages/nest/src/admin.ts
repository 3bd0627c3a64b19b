import { Readable } from 'node:stream';
import { type HttpLimiter, InvalidOptionError } from '@distlimiter/core';
import { type AdminHandler, type AdminOptions, createAdminHandler } from '@distlimiter/core/admin';
import {
  All,
  Controller,
  type DynamicModule,
  Inject,
  type InjectionToken,
  Module,
  type ModuleMetadata,
  type OnApplicationShutdown,
  type OptionalFactoryDependency,
  type Provider,
  Req,
  Res,
  type Type,
} from '@nestjs/common';
import { SkipRateLimit } from './decorators.js';
import { ADMIN_HANDLER, ADMIN_OPTIONS, HTTP_LIMITER } from './tokens.js';

/**
 * Options of the admin API: those of core's createAdminHandler (`tokens`, `rate`, `env`), with `limiter`
 * defaulting to DistLimiterModule's app-wide limiter (HTTP_LIMITER).
 */
export type NestAdminOptions = Omit<AdminOptions, 'limiter'> & { limiter?: AdminOptions['limiter'] };

/** Options of `DistLimiterAdminModule.forRoot`: where the API is mounted, and the handler's options. */
export interface DistLimiterAdminModuleOptions extends NestAdminOptions {
  /** The controller path the API answers under (default "admin"; the app's global prefix goes before it). */
  path?: string;
}

/** Options of `DistLimiterAdminModule.forRootAsync`: the path, and a factory of the handler's options. */
export interface DistLimiterAdminModuleAsyncOptions {
  /** The controller path (default "admin"): known when the module is declared, unlike the options. */
  path?: string;
  /** Modules exporting the providers `inject` names (e.g. ConfigModule). */
  imports?: ModuleMetadata['imports'];
  /** Providers handed to `useFactory`, in order. */
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
  /** Builds the options (tokens from a secret store, say); may be async. */
  // biome-ignore lint/suspicious/noExplicitAny: Nest passes whatever the `inject` tokens resolve to.
  useFactory: (...args: any[]) => NestAdminOptions | Promise<NestAdminOptions>;
}

// The admin paths have at most three segments (/keys/:key/reset); a route per depth, since the two platforms
// spell a catch-all differently (Express 5 "{*path}", Fastify "*") and both read ":name" alike.
const DEPTHS = ['', ':a', ':a/:b', ':a/:b/:c'];
const BODILESS = new Set(['GET', 'HEAD']);

// What Express's Request and Fastify's FastifyRequest have in common here (or name differently).
interface PlatformRequest {
  readonly method: string;
  readonly url: string;
  readonly originalUrl?: string;
  readonly ip?: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly params?: Readonly<Record<string, unknown>>;
  readonly body?: unknown;
  /** Fastify: the Node request, already read by Fastify's body parsing. */
  readonly raw?: unknown;
  /** Express: whether a body parser read the stream. */
  readonly readableEnded?: boolean;
}

// Express's Response (a Node ServerResponse) or Fastify's reply.
interface PlatformResponse {
  statusCode?: number;
  setHeader?(name: string, value: string): unknown;
  end?(body?: Buffer): unknown;
  code?(status: number): PlatformResponse;
  header?(name: string, value: string): unknown;
  send?(body?: string): unknown;
}

/** The controller serving the API under `path`, declared per module so the path can be an option. */
function adminController(path: string): Type<unknown> {
  class DistLimiterAdminController {
    constructor(private readonly admin: AdminHandler) {}

    async serve(req: PlatformRequest, res: PlatformResponse): Promise<void> {
      const fastify = req.raw !== undefined;
      const read = fastify || req.readableEnded === true;
      const response = await this.admin.fetch(toFetchRequest(req, read), {
        ip: req.ip || undefined,
        ...(read && req.body !== undefined ? { body: req.body } : {}),
      });
      const body = Buffer.from(await response.arrayBuffer());
      if (typeof res.code === 'function') {
        const reply = res.code(response.status);
        response.headers.forEach((value, name) => {
          reply.header?.(name, value);
        });
        reply.send?.(body.length === 0 ? undefined : body.toString('utf8'));
        return;
      }
      res.statusCode = response.status;
      response.headers.forEach((value, name) => {
        res.setHeader?.(name, value);
      });
      res.end?.(body);
    }
  }
  // Decorators applied as calls, as in guard.ts; explicit tokens, since esbuild emits no design:paramtypes.
  Controller(path)(DistLimiterAdminController);
  // The admin API has its own limit; the app-wide guard must not count it, nor block an operator's IP.
  SkipRateLimit()(DistLimiterAdminController);
  Inject(ADMIN_HANDLER)(DistLimiterAdminController, undefined, 0);
  const proto = DistLimiterAdminController.prototype;
  All(DEPTHS)(proto, 'serve', Object.getOwnPropertyDescriptor(proto, 'serve')!);
  Req()(proto, 'serve', 0);
  Res()(proto, 'serve', 1);
  return DistLimiterAdminController;
}

// The request as the admin handler takes it: the path below the mount (the route's parameters, counted
// from the end of the raw path, so a global prefix never matters), still percent-encoded.
function toFetchRequest(req: PlatformRequest, read: boolean): Request {
  const url = req.originalUrl ?? req.url;
  const query = url.indexOf('?');
  const pathname = query === -1 ? url : url.slice(0, query);
  const depth = ['a', 'b', 'c'].filter((p) => req.params?.[p] !== undefined).length;
  const segments = pathname.split('/').filter((s) => s !== '');
  const rest = depth === 0 ? [] : segments.slice(-depth);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, typeof value === 'string' ? value : value.join(', '));
  }
  const streamed = !read && !BODILESS.has(req.method);
  return new Request(`http://admin/${rest.join('/')}${query === -1 ? '' : url.slice(query)}`, {
    method: req.method,
    headers,
    ...(streamed ? { body: Readable.toWeb(req as never) as ReadableStream, duplex: 'half' } : {}),
  } as RequestInit);
}

function handlerProvider(): Provider {
  return {
    provide: ADMIN_HANDLER,
    useFactory: (options: NestAdminOptions, appWide: HttpLimiter | undefined) => {
      const limiter = options?.limiter ?? appWide;
      if (limiter === undefined) {
        throw new InvalidOptionError(
          'limiter',
          undefined,
          'the HttpLimiter the API steers: import DistLimiterModule.forRoot() (its HTTP_LIMITER), or pass one',
        );
      }
      return createAdminHandler({ ...options, limiter });
    },
    inject: [ADMIN_OPTIONS, { token: HTTP_LIMITER, optional: true }],
  };
}

/**
 * The admin API (@distlimiter/core/admin) as a Nest module: `DistLimiterAdminModule.forRoot({ path:
 * 'admin' })` beside `DistLimiterModule.forRoot(...)`, whose app-wide limiter it steers. A controller
 * under `path` answers every admin endpoint on platform-express and platform-fastify alike, after their
 * body parsing; it is marked `@SkipRateLimit()` (the admin API has its own limit, `rate`). Bad options, and no
 * admin token at all (nor DISTLIMITER_ADMIN_TOKEN), fail the app's initialisation with InvalidOptionError.
 */
export class DistLimiterAdminModule implements OnApplicationShutdown {
  constructor(private readonly admin: AdminHandler) {}

  /** The module with its options known up front. */
  static forRoot(options: DistLimiterAdminModuleOptions = {}): DynamicModule {
    const { path, ...handlerOptions } = options;
    return DistLimiterAdminModule.build(path, [], [{ provide: ADMIN_OPTIONS, useValue: handlerOptions }]);
  }

  /** The module with its options built by a factory that may depend on other providers. */
  static forRootAsync(options: DistLimiterAdminModuleAsyncOptions): DynamicModule {
    const optionsProvider: Provider = {
      provide: ADMIN_OPTIONS,
      useFactory: options.useFactory,
      inject: options.inject ?? [],
    };
    return DistLimiterAdminModule.build(options.path, options.imports ?? [], [optionsProvider]);
  }

  private static build(
    path: string | undefined,
    imports: NonNullable<ModuleMetadata['imports']>,
    providers: Provider[],
  ): DynamicModule {
    if (path !== undefined && (typeof path !== 'string' || /[?#*:]/.test(path))) {
      throw new InvalidOptionError('path', path, 'a controller path such as "admin" or "ops/admin"');
    }
    return {
      module: DistLimiterAdminModule,
      imports,
      controllers: [adminController(path ?? 'admin')],
      providers: [...providers, handlerProvider()],
      exports: [ADMIN_HANDLER],
    };
  }

  /** On `app.close()`: the handler stops answering (503); it closes nothing of the limiter's. */
  async onApplicationShutdown(): Promise<void> {
    await this.admin.close();
  }
}

Module({})(DistLimiterAdminModule);
Inject(ADMIN_HANDLER)(DistLimiterAdminModule, undefined, 0);
