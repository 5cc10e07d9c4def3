import { defineConfig } from 'vitest/config';

// Two cores on CI: keep worker count small so PostgreSQL and spawned processes have room.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
