import type { StandardSchemaV1 } from '@standard-schema/spec';
import { assertKnownKeys, knownKeys } from './known-keys.js';
import { assertName } from './validation.js';

/** A typed handle on a job name: `enqueue(SendWelcome, payload)` checks the payload's type. */
export interface JobToken<TPayload = unknown> {
  readonly name: string;
  readonly schema?: StandardSchemaV1<unknown, TPayload>;
  /** Type-only marker; never set. */
  readonly __payload?: TPayload;
}

export interface DefineJobOptions<TPayload> {
  /** Any Standard Schema validator (zod, valibot, arktype …), checked at enqueue. */
  schema?: StandardSchemaV1<unknown, TPayload>;
}

const DEFINE_JOB_KEYS = knownKeys<DefineJobOptions<unknown>>({ schema: true });

export function defineJob<TPayload = unknown>(name: string, options: DefineJobOptions<TPayload> = {}): JobToken<TPayload> {
  assertName('job name', name);
  assertKnownKeys(options, DEFINE_JOB_KEYS, 'defineJob options');
  return Object.freeze({ name, schema: options.schema });
}

export function isJobToken(value: unknown): value is JobToken {
  return typeof value === 'object' && value !== null && typeof (value as JobToken).name === 'string';
}

export function jobNameOf(nameOrToken: string | JobToken<unknown>): string {
  return typeof nameOrToken === 'string' ? nameOrToken : nameOrToken?.name;
}
