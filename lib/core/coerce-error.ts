import type { JobErrorInfo } from './job-record.js';

/** Anything a handler throws (an Error, a string, undefined, an object) becomes an Error. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  let text: string;
  try {
    text = typeof thrown === 'string' ? thrown : JSON.stringify(thrown) ?? String(thrown);
  } catch {
    text = String(thrown);
  }
  const error = new Error(`Non-error thrown: ${text}`);
  error.name = 'NonError';
  return error;
}

export function errorInfo(error: Error, attempt: number, at: Date): JobErrorInfo {
  return {
    name: error.name || 'Error',
    message: String(error.message).slice(0, 4000),
    stack: error.stack?.slice(0, 8000),
    attempt,
    at: at.toISOString(),
  };
}
