import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['harness/**/*.test.ts', 'test/**/*.test.ts'],
    // Real processes, real VMs under TCG: generous per-test limits, and no timing assertions anywhere.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
