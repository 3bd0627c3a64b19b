import { type HttpLimitOptions, HttpLimiter } from '@distlimiter/core';
import {
  type DynamicModule,
  Global,
  Inject,
  type InjectionToken,
  Module,
  type ModuleMetadata,
  type OnApplicationShutdown,
  type OnModuleInit,
  type OptionalFactoryDependency,
  type Provider,
  type Type,
} from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, HttpAdapterHost, MetadataScanner, Reflector } from '@nestjs/core';
import { RateLimitGuard } from './guard.js';
import { countUnknownPaths } from './unknown-paths.js';
import { limiterFor } from './route-limiters.js';
import { HTTP_LIMITER, RATE_LIMIT_OPTIONS } from './tokens.js';

/** Options of `DistLimiterModule.forRootAsync`: a factory of the limit options, with its dependencies. */
export interface DistLimiterModuleAsyncOptions {
  /** Modules exporting the providers `inject` names (e.g. ConfigModule). */
  imports?: ModuleMetadata['imports'];
  /** Providers handed to `useFactory`, in order. */
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
  /** Builds the options; may be async (e.g. to connect a Redis client first). */
  // biome-ignore lint/suspicious/noExplicitAny: Nest passes whatever the `inject` tokens resolve to.
  useFactory: (...args: any[]) => HttpLimitOptions | Promise<HttpLimitOptions>;
}

// One limiter for the whole app: every guard instance and every derived route limit shares its backend.
const limiterProvider: Provider = {
  provide: HTTP_LIMITER,
  useFactory: (options: HttpLimitOptions) => new HttpLimiter(options),
  inject: [RATE_LIMIT_OPTIONS],
};

/**
 * Global module providing the app-wide `HttpLimiter` (HTTP_LIMITER), its options (RATE_LIMIT_OPTIONS) and
 * RateLimitGuard; requests for unknown paths, which reach no guard, count against the app-wide limit too.
 * Bad options, including those of any `@RateLimit()`, fail when the app initialises; `app.close()` closes
 * the limiter.
 */
export class DistLimiterModule implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly limiter: HttpLimiter,
    private readonly reflector: Reflector,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** Registers the module with options known up front. */
  static forRoot(options: HttpLimitOptions = {}): DynamicModule {
    return DistLimiterModule.build([], [{ provide: RATE_LIMIT_OPTIONS, useValue: options }]);
  }

  /** Registers the module with options built by a factory that may depend on other providers. */
  static forRootAsync(options: DistLimiterModuleAsyncOptions): DynamicModule {
    const optionsProvider: Provider = {
      provide: RATE_LIMIT_OPTIONS,
      useFactory: options.useFactory,
      inject: options.inject ?? [],
    };
    return DistLimiterModule.build(options.imports ?? [], [optionsProvider]);
  }

  private static build(
    imports: NonNullable<ModuleMetadata['imports']>,
    providers: Provider[],
  ): DynamicModule {
    return {
      global: true,
      module: DistLimiterModule,
      imports: [DiscoveryModule, ...imports],
      providers: [...providers, limiterProvider, RateLimitGuard],
      exports: [RATE_LIMIT_OPTIONS, HTTP_LIMITER, RateLimitGuard],
    };
  }

  /**
   * Builds every `@RateLimit()` limit now, so a bad one fails `app.init()` rather than its first request,
   * and hooks the app-wide limit in for unknown paths (Nest runs this after the routes are registered and
   * before its not-found handler). An app without an HTTP server (a standalone context) skips the hook.
   */
  onModuleInit(): void {
    const adapter = this.adapterHost?.httpAdapter;
    if (adapter !== undefined) countUnknownPaths(adapter, this.limiter);
    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as Type<unknown> | null | undefined;
      if (typeof controller !== 'function') continue;
      for (const name of this.scanner.getAllMethodNames(controller.prototype)) {
        const handler = controller.prototype[name] as Function;
        limiterFor(this.limiter, this.reflector, controller, handler);
      }
    }
  }

  /**
   * On `app.close()` (after the HTTP server has stopped), stops what the app-wide limiter started itself:
   * the watcher of a `config` file path. A backend or config source passed in stays the app's to close.
   */
  async onApplicationShutdown(): Promise<void> {
    await this.limiter.close();
  }
}

// Applied as calls rather than @-syntax for the reason given in guard.ts.
Global()(DistLimiterModule);
Module({})(DistLimiterModule);
for (const [index, token] of [
  HTTP_LIMITER,
  Reflector,
  DiscoveryService,
  MetadataScanner,
  HttpAdapterHost,
].entries()) {
  Inject(token)(DistLimiterModule, undefined, index);
}
