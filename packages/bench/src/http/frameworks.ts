/** A framework Part B measures, and the limiter its users reach for first. */
export interface Framework {
  /** Name handed to the server process. */
  id: string;
  /** Name in the report. */
  label: string;
  /** The peer limiter, as named in the report. */
  peer: string;
  /** Whether ours must also keep >= 0.90 of the bare app's throughput. */
  strict: boolean;
}

/** Every framework, in report order. */
export const FRAMEWORKS: readonly Framework[] = [
  { id: 'express', label: 'Express', peer: 'express-rate-limit', strict: false },
  { id: 'fastify', label: 'Fastify', peer: '@fastify/rate-limit', strict: true },
  { id: 'nest-express', label: 'NestJS (express)', peer: '@nestjs/throttler', strict: false },
  { id: 'nest-fastify', label: 'NestJS (fastify)', peer: '@nestjs/throttler', strict: false },
  { id: 'hono', label: 'Hono', peer: 'hono-rate-limiter', strict: true },
  { id: 'koa', label: 'Koa', peer: 'koa-ratelimit', strict: false },
];
