import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // Native kernels use their own thread pool; one fork per core keeps 2-core CI from oversubscribing.
    pool: 'forks',
  },
});
