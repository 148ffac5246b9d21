import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

// `npm run chaos`: the chaos suite (test/chaos/), apart from `npm test`. The same SWC transform
// and reporters as vitest.config.ts (decorator metadata). One file at a time: the scenarios
// judge timing, and this is a 2-core machine.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/chaos/**/*.chaos.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    maxWorkers: 1,
  },
});
