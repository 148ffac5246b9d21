import { SetMetadata } from '@nestjs/common';
import { GLOBAL_MIDDLEWARE_METADATA } from '../jobs.constants.js';

/**
 * Marks a provider (a class implementing `JobMiddleware`) as middleware of every job, wherever
 * a module provides it: the way an add-on module plugs in without the app listing it in
 * `JobsModule.forRoot({ middleware })`. These run outside the listed ones, in the order Nest
 * discovers them. The provider must be a singleton (jobs run outside any request).
 */
export function GlobalJobMiddleware(): ClassDecorator {
  return SetMetadata(GLOBAL_MIDDLEWARE_METADATA, true);
}
