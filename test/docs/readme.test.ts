/**
 * Every TypeScript example in README.md is a file of this repository, word for word (bar the
 * import path, which the README gives as the package's name): `npm run typecheck` compiles each
 * one against the sources, so an example that no longer fits the API fails CI. The simulator's
 * example is also run (test/simulation/readme.sim.test.ts); the socket examples are type-checked
 * only, since they name fixed ports and wait for a peer.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');

/** The source path of a file under test/ as the README shows it: imported from the package by name. */
const asShown = (source: string): string =>
  source.replace("from '../../src/index.js'", "from 'ts2p'").replace("from '../../src/sim.js'", "from 'ts2p/sim'");

const examples = [...readme.matchAll(/<!-- example:start (\S+) -->\n```ts\n([\s\S]*?)```\n<!-- example:end -->/g)].map((m) => ({
  file: m[1]!,
  code: m[2]!,
}));

describe('README.md examples', () => {
  it('are each marked with the file that holds them', () => {
    const blocks = readme.match(/^```ts$/gm) ?? [];
    expect(blocks.length).toBeGreaterThan(0);
    expect(examples.map((e) => e.file)).toEqual(['test/docs/readme-mesh.ts', 'test/docs/readme-chord.ts', 'test/simulation/readme-example.ts']);
    expect(examples).toHaveLength(blocks.length);
  });

  it.each(examples)('$file is the code the README shows', ({ file, code }) => {
    expect(code).toBe(asShown(readFileSync(new URL(file, root), 'utf8')));
  });
});
