import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const LIB = resolve(dirname(fileURLToPath(import.meta.url)), '../../lib');

/** Every module specifier `file` imports or re-exports (static and dynamic, types included). */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);
}

/** The files of lib/ reachable from `entry`, and the packages they import. */
function reach(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of specifiers(file)) {
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
      else packages.add(spec);
    }
  };
  visit(entry);
  return { files, packages };
}

describe('the main entry point and the otel subpath', () => {
  it('the main entry never reaches lib/otel nor @opentelemetry/*; the otel entry does', () => {
    const main = reach(resolve(LIB, 'index.ts'));
    // The walk does follow the imports: the core, the storage and the Nest layer are reached.
    expect([...main.files].some((f) => f.endsWith('/core/job-executor.ts'))).toBe(true);
    expect([...main.files].filter((f) => f.includes('/lib/otel/'))).toEqual([]);
    expect([...main.packages].filter((p) => p.startsWith('@opentelemetry/'))).toEqual([]);
    expect(reach(resolve(LIB, 'otel/index.ts')).packages).toContain('@opentelemetry/api');
  });
});
