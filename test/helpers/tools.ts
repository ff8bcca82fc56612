import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The full path of an executable on PATH, or undefined: skip conditions look tools up, never assume a path. */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A describe/it name suffix that says why it is skipped, so that the reason shows up in the run. */
export const skipNote = (runs: unknown, reason: string) => (runs ? '' : ` (skipped: ${reason})`);
