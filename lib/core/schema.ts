import type { StandardSchemaV1 } from '@standard-schema/spec';
import { InvalidPayloadError, type PayloadIssue } from '../errors/invalid-payload.error.js';

/** Runs a Standard Schema validator; returns the validated (possibly transformed) value. */
export async function validateWithSchema(schema: StandardSchemaV1, jobName: string, payload: unknown): Promise<unknown> {
  const result = await schema['~standard'].validate(payload);
  if (!result.issues) return result.value;
  throw new InvalidPayloadError(jobName, result.issues.map(toIssue));
}

function toIssue(issue: StandardSchemaV1.Issue): PayloadIssue {
  const path = (issue.path ?? [])
    .map((seg) => (typeof seg === 'object' && seg !== null ? seg.key : seg))
    .reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : `${acc}.${String(key)}`), '$');
  return { path: path === '$' ? '$' : path.replace(/^\$\./, ''), message: issue.message };
}
