import { existsSync } from 'node:fs';
import { UsageError } from '../errors.ts';
import type { Arch } from './arch.ts';
import { openImageDir } from './cache.ts';
import { buildDebianImage } from './debian-builder.ts';
import type { DebianMirrors } from './debian/sources.ts';
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
  /** The debian builder's package cache; default <cacheRoot>/debian. Tests share one to stay offline. */
  debRoot?: string;
  /** Debian mirrors other than deb.debian.org (NSLAB_DEBIAN_MIRROR, NSLAB_DEBIAN_SECURITY_MIRROR). */
  mirrors?: DebianMirrors;
  log?: (line: string) => void;
  /** A transient status line (download progress), for a terminal. */
  status?: (text: string) => void;
}

/**
 * The debian builder everywhere, unless linuxkit is asked for: it needs nothing but Node and Debian's
 * archive, so it builds the same image on Linux, macOS and Windows. Pure.
 */
export function chooseBuilder(requested: BuilderChoice): 'linuxkit' | 'debian' {
  return requested === 'linuxkit' ? 'linuxkit' : 'debian';
}

/** config → image: validate linuxkit.yml, then build (or reuse from the cache) kernel + initrd + cmdline. */
export async function buildImage(options: BuildImageOptions): Promise<BuiltImage> {
  if (options.imageDir) {
    if (!existsSync(options.imageDir)) throw new UsageError(`--image ${options.imageDir}: no such folder`);
    return openImageDir(options.imageDir, true);
  }
  const validated = await validateLinuxkitFile(options.config);
  const common = { arch: options.arch, cacheRoot: options.cacheRoot, log: options.log };
  return chooseBuilder(options.builder) === 'linuxkit'
    ? buildLinuxkitImage(validated, common)
    : buildDebianImage(validated, {
        ...common,
        refresh: options.refresh,
        debRoot: options.debRoot,
        mirrors: options.mirrors,
        status: options.status,
      });
}
