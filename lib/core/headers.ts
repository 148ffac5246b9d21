import { InvalidOptionsError } from '../errors/invalid-options.error.js';

/**
 * A job's headers: a small string-to-string map stored beside its payload, for what travels
 * with a job without being its data (a trace context, a tenant or request id). The limits keep
 * them small on every storage: at most `MAX_HEADERS` entries, names of 1 to
 * `MAX_HEADER_NAME` characters, and at most `MAX_HEADERS_BYTES` of JSON in all.
 */
export type JobHeaders = Record<string, string>;

export const MAX_HEADERS = 64;
export const MAX_HEADER_NAME = 128;
export const MAX_HEADERS_BYTES = 8 * 1024;

/**
 * Checks headers (a plain object of string values) and returns them as the JSON text a storage
 * keeps, or null when there are none. `option` names where they came from in the message.
 */
export function headersJson(option: string, value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionsError(option, 'expected a plain object of string values, e.g. { "x-tenant-id": "acme" }');
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    throw new InvalidOptionsError(option, 'expected a plain object of string values, not a class instance (a Map: use Object.fromEntries)');
  }
  if (Object.getOwnPropertySymbols(value).length) throw new InvalidOptionsError(option, 'symbol keys cannot be stored');
  const keys = Object.keys(value);
  if (!keys.length) return null;
  if (keys.length > MAX_HEADERS) throw new InvalidOptionsError(option, `at most ${MAX_HEADERS} headers per job, got ${keys.length}`);
  for (const key of keys) {
    if (key.length < 1 || key.length > MAX_HEADER_NAME) {
      throw new InvalidOptionsError(option, `a header name has 1 to ${MAX_HEADER_NAME} characters, got ${key.length} ('${key.slice(0, 40)}…')`);
    }
    const v = (value as Record<string, unknown>)[key];
    if (typeof v !== 'string') throw new InvalidOptionsError(`${option}.${key}`, `a header value is a string, got ${v === null ? 'null' : typeof v}`);
  }
  const text = JSON.stringify(value);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_HEADERS_BYTES) {
    throw new InvalidOptionsError(option, `headers take at most ${MAX_HEADERS_BYTES} bytes of JSON, got ${bytes}; keep large values in the payload`);
  }
  return text;
}

/** Stored headers (JSON text, or null) as a fresh object; `{}` when there are none. */
export function parseHeaders(text: unknown): JobHeaders {
  if (text === null || text === undefined || text === '') return {};
  const value = JSON.parse(typeof text === 'string' ? text : Buffer.isBuffer(text) ? text.toString('utf8') : String(text)) as unknown;
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JobHeaders) : {};
}
