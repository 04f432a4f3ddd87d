// src/core must stay pure: no clock, no randomness, no timers, no promises, no node:* and no shell.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const coreDir = join(root, 'src', 'core');

const forbidden: ReadonlyArray<readonly [string, RegExp]> = [
  ['reads the clock', /\bDate\.now\b|\bnew Date\b|\bperformance\.now\b|\bprocess\.hrtime\b/],
  ['uses Math.random', /\bMath\.random\b/],
  ['uses timers', /\b(setTimeout|setInterval|setImmediate|queueMicrotask)\b/],
  ['uses promises', /\bPromise\b|\basync\s|\bawait\s/],
  ['imports a node module', /from\s+['"]node:|require\(\s*['"]node:|from\s+['"](fs|net|tls|crypto|zlib|os|path|events)['"]/],
  ['imports the shell', /from\s+['"][./]*shell\//],
  ['touches process or globals', /\bprocess\.|\bglobalThis\b/],
  ['logs by side effect', /\bconsole\./],
];

const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : path.endsWith('.ts') ? [path] : [];
  });

// Comments may mention the forbidden words (to explain why they are absent).
const stripComments = (src: string): string =>
  src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');

describe('core purity', () => {
  const files = filesUnder(coreDir);

  it('finds the core sources', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files.map((f) => [relative(root, f), f] as const))('%s is pure', (_name, file) => {
    const code = stripComments(readFileSync(file, 'utf8'));
    const problems = forbidden.filter(([, re]) => re.test(code)).map(([what]) => what);
    expect(problems).toEqual([]);
  });

  it('catches an impure line (the check itself can fail)', () => {
    const code = stripComments('const t = Date.now(); // fine in a comment: Math.random');
    expect(forbidden.filter(([, re]) => re.test(code)).map(([w]) => w)).toEqual(['reads the clock']);
  });
});
