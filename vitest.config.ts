import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['harness/**/*.test.ts', 'test/**/*.test.ts'],
    // Every skip with its reason at the end, in CI's log too (test/reporters/skip-reasons.ts).
    reporters: ['default', './test/reporters/skip-reasons.ts'],
    // Real processes, real VMs under TCG: generous per-test limits, and no timing assertions anywhere.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
