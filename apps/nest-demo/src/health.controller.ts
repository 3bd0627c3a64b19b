import { Controller, Get } from '@nestjs/common';

/** Liveness probe: never limited (the demos' `exemptPaths`), so load balancers always see the app alive. */
@Controller()
export class HealthController {
  @Get('health')
  health(): { status: string } {
    return { status: 'ok' };
  }
}
