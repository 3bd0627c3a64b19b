import { header } from '@distlimiter/core';
import { RateLimit } from '@distlimiter/nest';
import { Controller, Get, HttpCode, Post } from '@nestjs/common';

/** The limited API: the app-wide limit on /hello, limits of their own on /login and /data. */
@Controller('api')
export class ApiController {
  @Get('hello')
  hello(): { message: string } {
    return { message: 'hello' };
  }

  @Post('login')
  @HttpCode(200)
  @RateLimit('3/minute')
  login(): { ok: boolean } {
    return { ok: true };
  }

  // Clients with an API key are counted by key; without one, by IP (never in one shared bucket).
  @Get('data')
  @RateLimit({ rate: '5/minute', keyBy: header('x-api-key') })
  data(): { items: number[] } {
    return { items: [1, 2, 3] };
  }
}
