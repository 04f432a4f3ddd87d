/**
 * The README's simulator example is this directory's `readme-example.ts` (test/docs/readme.test.ts
 * checks that README.md shows it word for word): this test runs it, and its asserts throw on failure.
 */
import { describe, expect, it } from 'vitest';

describe('the README simulator example', () => {
  it('runs and passes its own assertions', async () => {
    await expect(import('./readme-example.js')).resolves.toBeDefined();
  });
});
