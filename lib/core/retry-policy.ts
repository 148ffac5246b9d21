import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import type { BackoffSpec } from './job-record.js';
import { assertKnownKeys, knownKeys } from './known-keys.js';
import { assertMs, assertRetries, DELAY_LIMIT } from './option-rules.js';

/** How many times a failed job is retried. `MaxRetries.count(3)` means up to 4 runs. */
export class MaxRetries {
  private constructor(readonly retries: number | null) {}

  /** At most 2^31 − 2 (`maxRetries + 1` attempts are stored as a 32-bit integer). */
  static count(n: number): MaxRetries {
    return new MaxRetries(assertRetries('maxRetries', n));
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
  /** Cap on any one delay; default one hour (at most 100 years). */
  maxMs?: number;
  /** Randomise each delay by up to ±25 %; default true. */
  jitter?: boolean;
}

const EXPONENTIAL_KEYS = knownKeys<ExponentialOptions>({ initialMs: true, maxMs: true, jitter: true });

/** How long to wait before retry number `attempt` (1-based). */
export class Backoff {
  private constructor(readonly spec: BackoffSpec) {}

  /** The same delay every time (at most 100 years). */
  static fixed(ms: number): Backoff {
    return new Backoff({ type: 'fixed', ms: assertMs('backoff', ms, DELAY_LIMIT) });
  }

  /** `ms * attempt`, at most 100 years. */
  static linear(ms: number): Backoff {
    return new Backoff({ type: 'linear', ms: assertMs('backoff', ms, DELAY_LIMIT) });
  }

  /** `initialMs * base ^ attempt`, capped at `maxMs`, with jitter by default. */
  static exponential(base: number, options: ExponentialOptions = {}): Backoff {
    if (typeof base !== 'number' || !Number.isFinite(base) || base < 1) {
      throw new InvalidOptionsError('backoff', `exponential base must be a number >= 1, got ${String(base)}`);
    }
    assertKnownKeys(options, EXPONENTIAL_KEYS, 'Backoff.exponential options', 'backoff.');
    const initialMs = assertMs('backoff.initialMs', options.initialMs ?? 1000, DELAY_LIMIT);
    const maxMs = assertMs('backoff.maxMs', options.maxMs ?? 3_600_000, DELAY_LIMIT);
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

/** The delay before a retry, never past 100 years (a linear backoff grows with every attempt). */
export function backoffDelayMs(spec: BackoffSpec, attempt: number, random: () => number = Math.random): number {
  return Math.min(DELAY_LIMIT.max, uncappedDelayMs(spec, Math.max(1, attempt), random));
}

function uncappedDelayMs(spec: BackoffSpec, n: number, random: () => number): number {
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

