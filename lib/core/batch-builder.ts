import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import type { EnqueueOptions } from './enqueue-options.js';
import type { BatchCallbackPayload, NewBatch, NewJob } from './job-record.js';
import type { JobToken } from './job-token.js';
import { assertKnownKeys, knownKeys } from './known-keys.js';

/** `QueueService.batch` options. Each callback is a job name or token, enqueued once with a `BatchCallbackPayload`. */
export interface BatchOptions<TPayload = unknown> {
  /** When every job has finished, whatever the outcome. */
  onComplete?: string | JobToken<BatchCallbackPayload<TPayload>>;
  /** When every job has completed. */
  onSuccess?: string | JobToken<BatchCallbackPayload<TPayload>>;
  /** When the first job ends dead. */
  onFailure?: string | JobToken<BatchCallbackPayload<TPayload>>;
  /** The batch's own payload, handed to the callbacks (JSON, as a job's payload). */
  payload?: TPayload;
  /** A TypeORM `EntityManager`: the batch is stored inside the caller's transaction. */
  manager?: unknown;
}

export const BATCH_OPTION_KEYS = knownKeys<BatchOptions>({ onComplete: true, onSuccess: true, onFailure: true, payload: true, manager: true });

type BuildJob = (job: string | JobToken<unknown>, payload: unknown, options: EnqueueOptions, where: string) => NewJob | Promise<NewJob>;

/**
 * Validates a batch's options. Each callback is built as `enqueue` would build it, with a
 * payload of the shape it will get (so its schema, the payload's JSON and its size are checked
 * now, not when it fires); the stored template keeps the callback's queue and policy.
 */
export async function buildBatch(options: BatchOptions, build: BuildJob): Promise<{ batch: NewBatch; manager: unknown }> {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('batch options', 'expected { onComplete?, onSuccess?, onFailure?, payload?, manager? }');
  assertKnownKeys(options, BATCH_OPTION_KEYS, 'batch options');
  const payload = options.payload === undefined ? null : options.payload;
  const sample: BatchCallbackPayload = { batchId: '0', payload, counts: { total: 0, completed: 0, dead: 0, cancelled: 0 } };
  const callbacks: NewBatch['callbacks'] = {};
  const pairs = [['complete', options.onComplete, 'onComplete'], ['success', options.onSuccess, 'onSuccess'], ['failure', options.onFailure, 'onFailure']] as const;
  for (const [which, job, key] of pairs) {
    if (job === undefined) continue;
    callbacks[which] = await build(job, sample, {}, `batch options.${key}`);
  }
  // The sample's payload passed the JSON checks as part of the callback; checked alone when there is no callback.
  const text = JSON.stringify(payload);
  if (!Object.keys(callbacks).length && text === undefined) throw new InvalidOptionsError('batch options.payload', 'expected a JSON value');
  return { batch: { payload: text, callbacks }, manager: options.manager };
}
