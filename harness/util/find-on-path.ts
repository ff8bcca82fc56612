import { accessSync, constants } from 'node:fs';
import { hostPlatform, type Platform } from '../platform/index.ts';

/**
 * The full path of an executable found in `dirs` (default: this process's PATH), or undefined. Paths are
 * joined the way `platform` joins them, so Windows lookups are testable anywhere.
 */
export function findOnPath(
  name: string,
  dirs: string[] = hostPlatform.pathDirs(process.env),
  platform: Platform = hostPlatform,
): string | undefined {
  for (const dir of dirs) {
    const p = platform.path.join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}
