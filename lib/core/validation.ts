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

/** Deepest nesting of arrays and objects a payload may have. */
export const MAX_PAYLOAD_DEPTH = 100;

/**
 * Lists every place where `value` would not survive a JSON round trip unchanged:
 * functions, symbols, BigInt, non-finite numbers, cycles, class instances (Date, Map,
 * custom classes), `undefined` (JSON drops it from objects and writes null in arrays),
 * empty slots of sparse arrays (written as null). Nesting deeper than `MAX_PAYLOAD_DEPTH`
 * is refused too, so the walk (and JSON.stringify after it) never runs out of stack.
 */
export function jsonIssues(value: unknown): PayloadIssue[] {
  const walker = new JsonWalker();
  walker.walk(value, false);
  return walker.issues;
}

/** Issues listed at most: past them the walk stops (a huge sparse array would otherwise list every slot). */
const MAX_ISSUES = 20;

/** Names the place of an issue: `$`, `key`, `a.b`, `list[1]`, `$[0].a`. */
function formatPath(segments: ReadonlyArray<string | number>): string {
  let path = '$';
  for (const s of segments) path = typeof s === 'number' ? `${path}[${s}]` : path === '$' ? s : `${path}.${s}`;
  return path;
}

/**
 * The walk of `jsonIssues`. It runs on every enqueue, so the path of a value is kept as a
 * stack of segments and spelled out only when an issue is found.
 */
class JsonWalker {
  readonly issues: PayloadIssue[] = [];
  private readonly segments: Array<string | number> = [];
  private readonly ancestors = new Set<object>();

  walk(v: unknown, inObject: boolean): void {
    if (this.issues.length >= MAX_ISSUES) return;
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return;
      case 'number':
        if (!Number.isFinite(v)) this.report(`${String(v)} is not a JSON number`);
        return;
      case 'undefined':
        this.report(inObject ? 'undefined is not JSON (a JSON round trip drops the key): omit the key, or use null' : 'undefined is not JSON: use null');
        return;
      case 'bigint':
        this.report('BigInt is not JSON; pass it as a string');
        return;
      case 'function':
      case 'symbol':
        this.report(`a ${typeof v} is not JSON`);
        return;
    }
    if (v === null) return;
    const obj = v as object;
    if (this.ancestors.has(obj)) {
      this.report('circular reference');
      return;
    }
    if (this.segments.length >= MAX_PAYLOAD_DEPTH) {
      this.report(`nested deeper than ${MAX_PAYLOAD_DEPTH} levels of arrays and objects; flatten it`);
      return;
    }
    if (Array.isArray(obj)) {
      this.ancestors.add(obj);
      for (let i = 0; i < obj.length; i++) {
        this.segments.push(i);
        if (i in obj) this.walk(obj[i], false);
        else this.report('an empty slot of a sparse array (JSON writes null there): fill it, e.g. with null');
        this.segments.pop();
        if (this.issues.length >= MAX_ISSUES) break;
      }
      this.ancestors.delete(obj);
      return;
    }
    const proto = Object.getPrototypeOf(obj) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      const ctor = (obj as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      this.report(`a ${ctor} instance is not plain JSON; convert it (e.g. a Date to an ISO string)`);
      return;
    }
    this.ancestors.add(obj);
    for (const key of Object.keys(obj)) {
      this.segments.push(key);
      this.walk((obj as Record<string, unknown>)[key], true);
      this.segments.pop();
      if (this.issues.length >= MAX_ISSUES) break;
    }
    if (Object.getOwnPropertySymbols(obj).length) this.report('symbol keys are not JSON');
    this.ancestors.delete(obj);
  }

  private report(message: string): void {
    this.issues.push({ path: formatPath(this.segments), message });
  }
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
