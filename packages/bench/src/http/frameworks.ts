/** A framework Part B measures, and the limiter its users reach for first. */
export interface Framework {
  /** Name handed to the server process. */
  id: string;
  /** Name in the report. */
  label: string;
  /** The peer limiter, as named in the report. */
  peer: string;
  /** The peer on its Redis store, as named in the report's Redis rows. */
  redisPeer: string;
  /** Whether ours must also keep >= 0.90 of the bare app's throughput. */
  strict: boolean;
}

/** Every framework, in report order. */
export const FRAMEWORKS: readonly Framework[] = [
  {
    id: 'express',
    label: 'Express',
    peer: 'express-rate-limit',
    redisPeer: 'express-rate-limit + rate-limit-redis',
    strict: false,
  },
  {
    id: 'fastify',
    label: 'Fastify',
    peer: '@fastify/rate-limit',
    redisPeer: '@fastify/rate-limit (redis)',
    strict: true,
  },
  {
    id: 'nest-express',
    label: 'NestJS (express)',
    peer: '@nestjs/throttler',
    redisPeer: '@nestjs/throttler + @nest-lab/throttler-storage-redis',
    strict: false,
  },
  {
    id: 'nest-fastify',
    label: 'NestJS (fastify)',
    peer: '@nestjs/throttler',
    redisPeer: '@nestjs/throttler + @nest-lab/throttler-storage-redis',
    strict: false,
  },
  {
    id: 'hono',
    label: 'Hono',
    peer: 'hono-rate-limiter',
    redisPeer: 'hono-rate-limiter (RedisStore)',
    strict: true,
  },
  {
    id: 'koa',
    label: 'Koa',
    peer: 'koa-ratelimit',
    redisPeer: 'koa-ratelimit (redis driver)',
    strict: false,
  },
];
