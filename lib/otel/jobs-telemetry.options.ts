import type { TracerProvider } from '@opentelemetry/api';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { assertKnownKeys, knownKeys } from '../core/known-keys.js';

export interface JobsTelemetryOptions {
  /** The tracer's name (the instrumentation scope); default `'nestjs-background-jobs'`. */
  tracerName?: string;
  /** Where spans go; default the global tracer provider (the one the app's OpenTelemetry SDK registers). */
  tracerProvider?: TracerProvider;
}

export const JOBS_TELEMETRY_OPTIONS = Symbol('JOBS_TELEMETRY_OPTIONS');

const KEYS = knownKeys<JobsTelemetryOptions>({ tracerName: true, tracerProvider: true });

export function checkTelemetryOptions(options: unknown): JobsTelemetryOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('JobsTelemetryModule options', 'expected an object');
  assertKnownKeys(options, KEYS, 'JobsTelemetryModule options');
  const { tracerName, tracerProvider } = options as JobsTelemetryOptions;
  if (tracerName !== undefined && (typeof tracerName !== 'string' || !tracerName)) {
    throw new InvalidOptionsError('tracerName', 'expected a non-empty string');
  }
  if (tracerProvider !== undefined && typeof (tracerProvider as { getTracer?: unknown } | null)?.getTracer !== 'function') {
    throw new InvalidOptionsError('tracerProvider', 'expected an OpenTelemetry TracerProvider (with getTracer)');
  }
  return { ...(options as JobsTelemetryOptions) };
}
