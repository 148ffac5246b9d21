import { JobsError } from './jobs.error.js';

export class StorageUnavailableError extends JobsError {
  constructor(what: string, override readonly cause?: unknown) {
    super(
      `Job storage unavailable: ${what}` +
        (cause instanceof Error ? ` (${cause.message || String((cause as { code?: unknown }).code ?? cause.name)})` : '') +
        '. Check that the database is reachable and the connection settings in JobsModule.forRoot({ storage }) are right.',
    );
  }
}
