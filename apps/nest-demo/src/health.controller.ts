import { SkipRateLimit } from '@distlimiter/nest';
import { Controller, Get } from '@nestjs/common';

/** Liveness probe: load balancers must see the app alive however busy a client is. */
@Controller()
export class HealthController {
  @Get('health')
  @SkipRateLimit()
  health(): { status: string } {
    return { status: 'ok' };
  }
}
