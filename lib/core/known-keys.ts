import { InvalidOptionsError } from '../errors/invalid-options.error.js';

/**
 * The keys an options object may have. A misspelt option (`dealy`, `concurency`) would
 * otherwise be ignored silently, and the job or queue would run without it.
 */
export type KnownKeys = ReadonlySet<string>;

/**
 * The keys of an options type, listed once next to it. Every key of `T` must be listed and
 * nothing else, so a new option cannot be forgotten here (the compiler says so).
 */
export function knownKeys<T extends object>(keys: { [K in keyof Required<T>]: true }): KnownKeys {
  return new Set(Object.keys(keys));
}

export const unknownOption = (where: string, suggestion: string | null, known: KnownKeys) =>
  suggestion === null
    ? `unknown option in ${where}; the options are ${[...known].map((k) => `'${k}'`).join(', ')}`
    : `unknown option in ${where}; did you mean '${suggestion}'?`;

/**
 * Refuses a key of `value` that is not in `known`, naming it (`prefix` + key) and the
 * nearest known one. Only the object's own top-level keys are checked: values may be
 * foreign objects (an EntityManager, a DataSource, a clock). A non-object is left to the
 * caller's own type check.
 */
export function assertKnownKeys(value: unknown, known: KnownKeys, where: string, prefix = ''): void {
  if (typeof value !== 'object' || value === null) return;
  for (const key of Object.keys(value)) {
    if (!known.has(key)) throw new InvalidOptionsError(`${prefix}${key}`, unknownOption(where, nearest(key, known), known));
  }
}

/** The known key closest to `key` by edit distance, when it is close enough to be a typo. */
function nearest(key: string, known: KnownKeys): string | null {
  const lower = key.toLowerCase();
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) && bestDistance < key.length ? best : null;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours cost 1. */
function editDistance(a: string, b: string): number {
  // Three rows of the usual table: the one two rows up is needed for swaps.
  let before = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      current[j] = d;
    }
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}
