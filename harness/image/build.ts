import { existsSync } from 'node:fs';
import { hostPlatform } from '../platform/index.ts';
import { findOnPath } from '../util/find-on-path.ts';
import { EnvironmentError, UsageError } from '../errors.ts';
import type { Arch } from './arch.ts';
import { openImageDir } from './cache.ts';
import { buildDebianImage } from './debian-builder.ts';
import { buildLinuxkitImage } from './linuxkit-builder.ts';
import type { BuiltImage } from './manifest.ts';
import { validateLinuxkitFile } from './validate.ts';

export const BUILDERS = ['auto', 'linuxkit', 'debian'] as const;
export type BuilderChoice = (typeof BUILDERS)[number];

export interface BuildImageOptions {
  config: string;
  arch: Arch;
  builder: BuilderChoice;
  cacheRoot: string;
  /** Use this folder's kernel + initrd + cmdline instead of building (checked against its manifest). */
  imageDir?: string;
  refresh?: boolean;
  /** The debian builder's package cache; default <cacheRoot>/apt. Tests share one to stay offline. */
  aptRoot?: string;
  log?: (line: string) => void;
}

/** linuxkit where the tool is installed, else debian where apt-get is, else a clear error. Pure. */
export function chooseBuilder(
  requested: BuilderChoice,
  have: { linuxkit: boolean; aptGet: boolean },
): 'linuxkit' | 'debian' {
  if (requested !== 'auto') return requested;
  if (have.linuxkit) return 'linuxkit';
  if (have.aptGet) return 'debian';
  throw new EnvironmentError(
    'no way to build the VM image here: neither `linuxkit` nor `apt-get` is available',
    'install LinuxKit (brew install linuxkit/linuxkit/linuxkit), build on a Debian/Ubuntu machine, or pass --image DIR with a kernel + initrd + cmdline built elsewhere (e.g. a CI artifact)',
  );
}

/** config → image: validate linuxkit.yml, then build (or reuse from the cache) kernel + initrd + cmdline. */
export async function buildImage(options: BuildImageOptions): Promise<BuiltImage> {
  if (options.imageDir) {
    if (!existsSync(options.imageDir)) throw new UsageError(`--image ${options.imageDir}: no such folder`);
    return openImageDir(options.imageDir, true);
  }
  const validated = await validateLinuxkitFile(options.config);
  const builder = chooseBuilder(options.builder, {
    linuxkit: findOnPath(hostPlatform.exe('linuxkit')) !== undefined,
    aptGet: findOnPath('apt-get') !== undefined,
  });
  const common = { arch: options.arch, cacheRoot: options.cacheRoot, log: options.log };
  return builder === 'linuxkit'
    ? buildLinuxkitImage(validated, common)
    : buildDebianImage(validated, { ...common, refresh: options.refresh, aptRoot: options.aptRoot });
}
