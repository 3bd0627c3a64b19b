import { Controller, Get, HttpCode, Post } from '@nestjs/common';

/**
 * The API. No `@RateLimit()` here: the app-wide guard follows the configuration, whose rules say which
 * routes have limits of their own (login) or limits tried out in shadow mode (data).
 */
@Controller('api')
export class ApiController {
  @Get('hello')
  hello(): { message: string } {
    return { message: 'hello' };
  }

  @Post('login')
  @HttpCode(200)
  login(): { token: string } {
    return { token: 'demo-token' };
  }

  @Get('data')
  data(): { data: number[] } {
    return { data: [1, 2, 3] };
  }
}
