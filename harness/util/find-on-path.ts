import { accessSync, constants } from 'node:fs';
import { delimiter as hostDelimiter, posix, win32 } from 'node:path';

/**
 * The full path of an executable found in `dirs` (default: this process's PATH), or undefined. Paths are
 * joined the way `platform` joins them, so Windows lookups are testable anywhere.
 */
export function findOnPath(
  name: string,
  dirs: string[] = (process.env.PATH ?? '').split(hostDelimiter).filter(Boolean),
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  const { join } = platform === 'win32' ? win32 : posix;
  for (const dir of dirs) {
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
