import { homedir } from 'node:os';
import { join } from 'node:path';
import { hostPlatform, type Platform } from './platform/index.ts';
import { PROJECT_ROOT } from './project-root.ts';

/** The repository (or installed package) root, so that built-in scenarios are found from any folder. */
export { PROJECT_ROOT };
export const DEFAULT_SCENARIOS_DIR = join(PROJECT_ROOT, 'scenarios');
export const DEFAULT_LINUXKIT_YML = join(PROJECT_ROOT, 'linuxkit.yml');

/** Whether nslab runs from an installed package (global, local or npx), not from a clone. Pure. */
export const isInstalledPackage = (root: string) => root.split(/[\\/]/).includes('node_modules');

/**
 * Where VM images are cached: `vm-images/` in a clone (next to linuxkit.yml), the user's cache folder when
 * installed (an install folder may be read-only, and is replaced on every update). Pure.
 */
export function imageCacheFor(
  root: string,
  platform: Platform,
  env: NodeJS.ProcessEnv,
  home: string,
): string {
  return isInstalledPackage(root)
    ? platform.path.join(platform.cacheDir(env, home), 'vm-images')
    : platform.path.join(root, 'vm-images');
}

export const DEFAULT_IMAGE_CACHE = imageCacheFor(PROJECT_ROOT, hostPlatform, process.env, homedir());
