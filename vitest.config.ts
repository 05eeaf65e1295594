import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'system/**/*.test.ts',
      'scenarios/**/*.test.ts',
      'runner/**/*.test.ts',
      'results/**/*.test.ts',
      'reports/**/*.test.ts',
      'test/**/*.test.ts',
      'scripts/**/*.test.ts',
    ],
    exclude: ['node_modules/**', 'runs/**'],
    // Two cores: tests that start PostgreSQL and servers contend for CPU, so keep concurrency low.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
