import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import type { BackoffSpec } from './job-record.js';

/** How many times a failed job is retried. `MaxRetries.count(3)` means up to 4 runs. */
export class MaxRetries {
  private constructor(readonly retries: number | null) {}

  static count(n: number): MaxRetries {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new InvalidOptionsError('maxRetries', `expected a whole number >= 0, got ${String(n)}`);
    }
    return new MaxRetries(n);
  }

  static infinite(): MaxRetries {
    return new MaxRetries(null);
  }

  /** Runs allowed in all, or null for no limit. */
  get maxAttempts(): number | null {
    return this.retries === null ? null : this.retries + 1;
  }
}

export type MaxRetriesInput = MaxRetries | number;

export function toMaxRetries(input: MaxRetriesInput): MaxRetries {
  return input instanceof MaxRetries ? input : MaxRetries.count(input);
}

export interface ExponentialOptions {
  /** Unit of the delays: retry n waits `initialMs * base ^ n`; default 1000 (so base 2 gives 2, 4, 8 … seconds). */
  initialMs?: number;
  /** Cap on any one delay; default one hour. */
  maxMs?: number;
  /** Randomise each delay by up to ±25 %; default true. */
  jitter?: boolean;
}

/** How long to wait before retry number `attempt` (1-based). */
export class Backoff {
  private constructor(readonly spec: BackoffSpec) {}

  /** The same delay every time. */
  static fixed(ms: number): Backoff {
    return new Backoff({ type: 'fixed', ms: checkMs('backoff', ms) });
  }

  /** `ms * attempt`. */
  static linear(ms: number): Backoff {
    return new Backoff({ type: 'linear', ms: checkMs('backoff', ms) });
  }

  /** `initialMs * base ^ attempt`, capped at `maxMs`, with jitter by default. */
  static exponential(base: number, options: ExponentialOptions = {}): Backoff {
    if (typeof base !== 'number' || !Number.isFinite(base) || base < 1) {
      throw new InvalidOptionsError('backoff', `exponential base must be a number >= 1, got ${String(base)}`);
    }
    const initialMs = checkMs('backoff.initialMs', options.initialMs ?? 1000);
    const maxMs = checkMs('backoff.maxMs', options.maxMs ?? 3_600_000);
    return new Backoff({ type: 'exponential', base, initialMs, maxMs, jitter: options.jitter ?? true });
  }

  static fromSpec(spec: BackoffSpec): Backoff {
    return new Backoff(spec);
  }

  /** Delay before the retry that follows failed run number `attempt` (1-based). */
  delayMs(attempt: number, random: () => number = Math.random): number {
    return backoffDelayMs(this.spec, attempt, random);
  }
}

export type BackoffInput = Backoff | number;

export function toBackoff(input: BackoffInput): Backoff {
  return input instanceof Backoff ? input : Backoff.fixed(input);
}

export function backoffDelayMs(spec: BackoffSpec, attempt: number, random: () => number = Math.random): number {
  const n = Math.max(1, attempt);
  switch (spec.type) {
    case 'fixed':
      return spec.ms;
    case 'linear':
      return spec.ms * n;
    case 'exponential': {
      const raw = Math.min(spec.maxMs, spec.initialMs * Math.pow(spec.base, n));
      const delay = spec.jitter ? raw * (0.75 + random() * 0.5) : raw;
      return Math.round(Math.min(spec.maxMs, delay));
    }
  }
}

/** Retry defaults from the seed: 5 retries, exponential backoff base 2 (2^n seconds), jitter, 1 h cap. */
export const DEFAULT_MAX_RETRIES = MaxRetries.count(5);
export const DEFAULT_BACKOFF = Backoff.exponential(2);

export function checkMs(option: string, ms: unknown): number {
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0) {
    throw new InvalidOptionsError(option, `expected a whole number of milliseconds >= 0, got ${String(ms)}`);
  }
  return ms;
}
