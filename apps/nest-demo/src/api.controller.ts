import { header } from '@distlimiter/core';
import { DEMO_LIMITS } from '@distlimiter/demo-support';
import { RateLimit } from '@distlimiter/nest';
import { Controller, Get, Headers, HttpCode, Post } from '@nestjs/common';

/** The API: the app-wide limit on /hello, limits of their own (replacing it) on /login and /data. */
@Controller('api')
export class ApiController {
  @Get('hello')
  hello(): { message: string } {
    return { message: 'hello' };
  }

  // Guessing passwords needs a tighter cap than the rest of the API.
  @Post('login')
  @HttpCode(200)
  @RateLimit(DEMO_LIMITS.login)
  login(): { token: string } {
    return { token: 'demo-token' };
  }

  // Counted per API key, so callers behind one office IP keep their own allowance; without a key, per IP.
  @Get('data')
  @RateLimit({ rate: DEMO_LIMITS.data, keyBy: header('x-api-key') })
  data(apiKey?: string): { data: number[]; apiKey: string | null } {
    return { data: [1, 2, 3], apiKey: apiKey ?? null };
  }
}

// @Headers('x-api-key') on data's parameter, applied as a call: Biome does not parse parameter decorators.
Headers('x-api-key')(ApiController.prototype, 'data', 0);
