import { defineConfig } from 'vitest/config';

// A long property hunt (TS2P_PROP_SCALE, test/property/runs.ts) gives each test as much more time.
const scale = Math.max(1, Number(process.env['TS2P_PROP_SCALE']) || 1);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000 * scale,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
