import { NOT_FOUND_BODY } from '@distlimiter/demo-support';
import { type ArgumentsHost, Catch, type ExceptionFilter, NotFoundException } from '@nestjs/common';

/**
 * Answers a 404 with the same body as the other four demos rather than Nest's own message. Unknown paths
 * are counted against the app-wide limit by @distlimiter/nest before they get here.
 */
@Catch(NotFoundException)
export class NotFoundFilter implements ExceptionFilter {
  catch(_exception: NotFoundException, host: ArgumentsHost): void {
    // The demo runs on Express (see createApp), whose response has status().json().
    const response = host
      .switchToHttp()
      .getResponse<{ status(code: number): { json(body: unknown): void } }>();
    response.status(404).json(NOT_FOUND_BODY);
  }
}
