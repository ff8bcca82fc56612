import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding nslab's package.json, found by walking up from this module: the same answer from the
 * TypeScript sources and from the bundled dist/nslab.mjs. Data files (probe.sh, the guest /init) are read
 * relative to it.
 */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'nslab') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the nslab package root');
    dir = up;
  }
}

export const PROJECT_ROOT = findRoot();

/** A file that ships with nslab, by its path from the package root. */
export const projectFile = (...parts: string[]) => join(PROJECT_ROOT, ...parts);
