/**
 * The README's simulator example is this directory's `readme-example.ts`, word for word (bar the
 * import path): this test runs it (its asserts throw on failure) and checks that README.md still
 * shows the same code.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);

describe('the README simulator example', () => {
  it('runs and passes its own assertions', async () => {
    await expect(import('./readme-example.js')).resolves.toBeDefined();
  });

  it('is the code README.md shows', () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    const block = /<!-- sim-example:start -->\s*```ts\n([\s\S]*?)```\s*<!-- sim-example:end -->/.exec(readme)?.[1];
    const source = readFileSync(new URL('test/simulation/readme-example.ts', root), 'utf8').replace("'../../src/sim.js'", "'ts2p/sim'");
    expect(block).toBe(source);
  });
});
