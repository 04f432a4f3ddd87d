// Removes from package-lock.json the optional dependencies that were never resolved.
//
// The registry this project installs from does not carry every platform build of every optional
// native add-on (msgpackr-extract's darwin and win32 builds, for one). `npm install` skips them
// quietly and leaves them named in their parent's optionalDependencies with no entry of their
// own, which `npm ci` then refuses as a lockfile out of sync. Run after `npm install`:
//   node scripts/prune-lock.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const names = Object.keys(lock.packages);
const present = (dep) => names.some((n) => n === `node_modules/${dep}` || n.endsWith(`/node_modules/${dep}`));
let pruned = 0;
for (const [name, entry] of Object.entries(lock.packages)) {
  for (const dep of Object.keys(entry.optionalDependencies ?? {})) {
    if (present(dep)) continue;
    delete entry.optionalDependencies[dep];
    console.log(`pruned ${dep} (optional dependency of ${name || 'the project'}, never resolved)`);
    pruned++;
  }
}
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(pruned === 0 ? 'package-lock.json: nothing to prune' : `package-lock.json: ${pruned} pruned`);
