import { PROJECT_ROOT } from '../project-root.ts';
import { join } from 'node:path';

/** The repository (or installed package) root, so that built-in scenarios are found from any folder. */
export { PROJECT_ROOT };
export const DEFAULT_SCENARIOS_DIR = join(PROJECT_ROOT, 'scenarios');
export const DEFAULT_IMAGE_CACHE = join(PROJECT_ROOT, 'vm-images');
export const DEFAULT_LINUXKIT_YML = join(PROJECT_ROOT, 'linuxkit.yml');
