import { type HttpLimitOptions, HttpLimiter } from '@distlimiter/core';
import {
  type DynamicModule,
  Global,
  Inject,
  type InjectionToken,
  Module,
  type ModuleMetadata,
  type OnModuleInit,
  type OptionalFactoryDependency,
  type Provider,
  type Type,
} from '@nestjs/common';
import { APP_FILTER, DiscoveryModule, DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { RateLimitGuard } from './guard.js';
import { RateLimitNotFoundFilter } from './not-found-filter.js';
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
 * Global module providing the app-wide `HttpLimiter` (HTTP_LIMITER), its options (RATE_LIMIT_OPTIONS),
 * RateLimitGuard, and a global filter that counts requests for unknown paths against the app-wide limit.
 * Bad options, including those of any `@RateLimit()`, fail when the app initialises.
 */
export class DistLimiterModule implements OnModuleInit {
  constructor(
    private readonly limiter: HttpLimiter,
    private readonly reflector: Reflector,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
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
      // The filter counts requests for unknown paths, which reach no guard, against the app-wide limit.
      providers: [
        ...providers,
        limiterProvider,
        RateLimitGuard,
        { provide: APP_FILTER, useClass: RateLimitNotFoundFilter },
      ],
      exports: [RATE_LIMIT_OPTIONS, HTTP_LIMITER, RateLimitGuard],
    };
  }

  /** Builds every `@RateLimit()` limit now, so a bad one fails `app.init()` rather than its first request. */
  onModuleInit(): void {
    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as Type<unknown> | null | undefined;
      if (typeof controller !== 'function') continue;
      for (const name of this.scanner.getAllMethodNames(controller.prototype)) {
        const handler = controller.prototype[name] as Function;
        limiterFor(this.limiter, this.reflector, controller, handler);
      }
    }
  }
}

// Applied as calls rather than @-syntax for the reason given in guard.ts.
Global()(DistLimiterModule);
Module({})(DistLimiterModule);
for (const [index, token] of [HTTP_LIMITER, Reflector, DiscoveryService, MetadataScanner].entries()) {
  Inject(token)(DistLimiterModule, undefined, index);
}
