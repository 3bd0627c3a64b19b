import { SkipRateLimit } from '@distlimiter/nest';
import { Controller, Get } from '@nestjs/common';

/** Liveness probe; never limited, so a busy client cannot make the app look dead. */
@Controller()
export class HealthController {
  @Get('health')
  @SkipRateLimit()
  health(): { status: string } {
    return { status: 'ok' };
  }
}
