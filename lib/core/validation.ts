import { InvalidNameError } from '../errors/invalid-name.error.js';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import type { PayloadIssue } from '../errors/invalid-payload.error.js';

const NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Queue names, job names, unique keys' owners: an allow-list, checked before anything is stored. */
export function assertName(kind: string, value: unknown): string {
  if (typeof value !== 'string' || !NAME.test(value)) throw new InvalidNameError(kind, value);
  return value;
}

export function isValidName(value: unknown): value is string {
  return typeof value === 'string' && NAME.test(value);
}

/**
 * Lists every place where `value` would not survive a JSON round trip unchanged:
 * functions, symbols, BigInt, non-finite numbers, cycles, class instances (Date, Map,
 * custom classes), `undefined` outside an object property.
 */
export function jsonIssues(value: unknown): PayloadIssue[] {
  const issues: PayloadIssue[] = [];
  const stack = new Set<object>();
  const walk = (v: unknown, path: string, inObject: boolean): void => {
    if (issues.length >= 20) return;
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return;
      case 'number':
        if (!Number.isFinite(v)) issues.push({ path, message: `${String(v)} is not a JSON number` });
        return;
      case 'undefined':
        if (!inObject) issues.push({ path, message: 'undefined is not JSON' });
        return;
      case 'bigint':
        issues.push({ path, message: 'BigInt is not JSON; pass it as a string' });
        return;
      case 'function':
      case 'symbol':
        issues.push({ path, message: `a ${typeof v} is not JSON` });
        return;
    }
    if (v === null) return;
    const obj = v as object;
    if (stack.has(obj)) {
      issues.push({ path, message: 'circular reference' });
      return;
    }
    if (Array.isArray(obj)) {
      stack.add(obj);
      obj.forEach((item, i) => walk(item, `${path}[${i}]`, false));
      stack.delete(obj);
      return;
    }
    const proto = Object.getPrototypeOf(obj) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      const ctor = (obj as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      issues.push({ path, message: `a ${ctor} instance is not plain JSON; convert it (e.g. a Date to an ISO string)` });
      return;
    }
    stack.add(obj);
    for (const key of Object.keys(obj)) {
      walk((obj as Record<string, unknown>)[key], path === '$' ? key : `${path}.${key}`, true);
    }
    if (Object.getOwnPropertySymbols(obj).length) issues.push({ path, message: 'symbol keys are not JSON' });
    stack.delete(obj);
  };
  walk(value, '$', false);
  return issues;
}

export function assertInt(option: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidOptionsError(option, `expected a whole number from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

export function assertUniqueKey(value: unknown): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > 255) {
    throw new InvalidOptionsError('uniqueKey', 'expected a string of 1 to 255 characters');
  }
  return value;
}
