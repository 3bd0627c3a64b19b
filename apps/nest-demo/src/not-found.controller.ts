import { All, Controller, NotFoundException } from '@nestjs/common';
import { NOT_FOUND_BODY } from '@distlimiter/demo-support';

/**
 * Every path no other controller serves, registered last: it answers with the same body as the other four
 * demos rather than Nest's own message, and as a routed request it passes the guard, which counts it
 * against the app-wide limit like any other.
 */
@Controller()
export class NotFoundController {
  // "{*path}" rather than "*path", so "/" is caught too.
  @All('{*path}')
  notFound(): never {
    throw new NotFoundException(NOT_FOUND_BODY);
  }
}
