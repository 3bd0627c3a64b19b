import { HttpLimiter, type HttpOutcome, InvalidOptionError, InvalidRateError } from '@distlimiter/core';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { listenOn, OpenServers, statuses } from '@distlimiter/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { rateLimit } from '../src/index.js';

const servers = new OpenServers();
afterEach(() => servers.closeAll());

const serve = (app: Express) => servers.add(listenOn(app.listen(0, '127.0.0.1')));

describe('@distlimiter/express', () => {
  it('throws on bad options when the middleware is created, not on the first request', () => {
    expect(() => rateLimit({ rate: 'lots' })).toThrow(InvalidRateError);
    expect(() => rateLimit({ statusCode: 200 })).toThrow(InvalidOptionError);
    // @ts-expect-error: a handler must be a function
    expect(() => rateLimit({ handler: 'nope' })).toThrow(InvalidOptionError);
  });

  it('limits only the route it is mounted on, and counts each route middleware on its own', async () => {
    const app = express();
    app.post('/login', rateLimit({ rate: '2/minute' }), (_req, res) => {
      res.send('welcome');
    });
    app.post('/signup', rateLimit({ rate: '2/minute' }), (_req, res) => {
      res.send('signed up');
    });
    app.get('/open', (_req, res) => {
      res.send('open');
    });
    const url = await serve(app);
    expect(await statuses(`${url}/login`, 3, { method: 'POST' })).toEqual([200, 200, 429]);
    expect(await statuses(`${url}/signup`, 1, { method: 'POST' })).toEqual([200]);
    const open = await fetch(`${url}/open`);
    expect(open.status).toBe(200);
    expect(open.headers.get('x-ratelimit-limit')).toBeNull();
  });

  it('hands refusals to a custom handler, with the rate-limit headers already set', async () => {
    const seen: HttpOutcome[] = [];
    const app = express();
    app.use(
      rateLimit({
        rate: '1/minute',
        handler: (_req, res, _next, outcome) => {
          seen.push(outcome);
          res.status(418).type('text/plain').send(`slow down, retry in ${outcome.headers['Retry-After']}s`);
        },
      }),
    );
    app.get('/', (_req, res) => {
      res.send('hi');
    });
    const url = await serve(app);
    expect((await fetch(url)).status).toBe(200);
    const refused = await fetch(url);
    expect(refused.status).toBe(418);
    expect(await refused.text()).toMatch(/^slow down, retry in \d+s$/);
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ allowed: false, status: 429 });
  });

  it('passes an error thrown by the custom handler to the Express error handler', async () => {
    const app = express();
    app.use(
      rateLimit({
        rate: '1/minute',
        handler: () => {
          throw new Error('handler broke');
        },
      }),
    );
    app.get('/', (_req, res) => {
      res.send('hi');
    });
    const onError: ErrorRequestHandler = (error: Error, _req, res, _next) => {
      res.status(500).send(`caught: ${error.message}`);
    };
    app.use(onError);
    const url = await serve(app);
    await fetch(url).then((r) => r.arrayBuffer());
    const broken = await fetch(url);
    expect(broken.status).toBe(500);
    expect(await broken.text()).toBe('caught: handler broke');
  });

  it("keys by req.ip, so X-Forwarded-For counts only when 'trust proxy' says so", async () => {
    const forwarded = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });
    const trusting = express();
    trusting.set('trust proxy', 1);
    trusting.use(rateLimit({ rate: '1/minute' }));
    trusting.get('/', (_req, res) => {
      res.send('hi');
    });
    const trustingUrl = await serve(trusting);
    expect(await statuses(trustingUrl, 2, forwarded('203.0.113.1'))).toEqual([200, 429]);
    expect(await statuses(trustingUrl, 1, forwarded('203.0.113.2'))).toEqual([200]);

    const plain = express();
    plain.use(rateLimit({ rate: '1/minute' }));
    plain.get('/', (_req, res) => {
      res.send('hi');
    });
    const plainUrl = await serve(plain);
    // Without trust proxy the header is ignored: both "clients" are the socket address, one count.
    expect(await statuses(plainUrl, 1, forwarded('203.0.113.1'))).toEqual([200]);
    expect(await statuses(plainUrl, 1, forwarded('203.0.113.2'))).toEqual([429]);
  });

  it('gives key functions the route pattern and the Express request', async () => {
    const seen: { routeId: string | undefined; raw: boolean }[] = [];
    const app = express();
    const router = express.Router();
    router.get(
      '/items/:id',
      rateLimit({
        keyBy: (req) => {
          seen.push({ routeId: req.routeId, raw: typeof (req.raw as express.Request).get === 'function' });
          return undefined;
        },
      }),
      (_req, res) => {
        res.send('item');
      },
    );
    app.use('/api', router);
    const url = await serve(app);
    expect((await fetch(`${url}/api/items/7`)).status).toBe(200);
    expect(seen).toEqual([{ routeId: '/api/items/:id', raw: true }]);
  });

  it('matches exemptPaths against the full path, also inside a mounted router', async () => {
    const app = express();
    const api = express.Router();
    api.use(rateLimit({ rate: '1/minute', exemptPaths: ['/api/health'] }));
    api.get('/health', (_req, res) => {
      res.send('ok');
    });
    api.get('/hello', (_req, res) => {
      res.send('hello');
    });
    app.use('/api', api);
    const url = await serve(app);
    expect(await statuses(`${url}/api/health?probe=1`, 3)).toEqual([200, 200, 200]);
    expect(await statuses(`${url}/api/hello`, 2)).toEqual([200, 429]);
  });

  it('exposes its HttpLimiter, whose events report refusals', async () => {
    const middleware = rateLimit({ rate: '1/minute' });
    expect(middleware.limiter).toBeInstanceOf(HttpLimiter);
    const limited: string[] = [];
    middleware.limiter.on('limited', (request) => limited.push(request.path));
    const app = express();
    app.use(middleware);
    app.get('/x', (_req, res) => {
      res.send('x');
    });
    const url = await serve(app);
    expect(await statuses(`${url}/x`, 2)).toEqual([200, 429]);
    expect(limited).toEqual(['/x']);
  });
});
