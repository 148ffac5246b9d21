import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// `npm run chaos`: the chaos suite (test/chaos/), apart from `npm test`. The same SWC transform
// as vitest.config.ts (decorator metadata). One file at a time: the scenarios judge timing, and
// this is a 2-core machine.
export default defineConfig({
  plugins: [
    swc.vite({
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
        target: 'es2022',
      },
    }),
  ],
  test: {
    include: ['test/chaos/**/*.chaos.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
  },
});
