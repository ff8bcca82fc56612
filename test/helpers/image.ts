import { buildImage } from '../../harness/image/build.ts';
import type { Arch } from '../../harness/image/arch.ts';
import type { BuiltImage } from '../../harness/image/manifest.ts';
import { DEFAULT_IMAGE_CACHE, DEFAULT_LINUXKIT_YML } from '../../harness/cli/paths.ts';

/** The project's own image, built (or taken from the cache) exactly as `nslab image build` would. */
export function projectImage(arch: Arch = 'x86_64'): Promise<BuiltImage> {
  return buildImage({
    config: DEFAULT_LINUXKIT_YML,
    arch,
    builder: 'debian',
    cacheRoot: DEFAULT_IMAGE_CACHE,
  });
}

/** QEMU processes whose command line mentions `needle`, from /proc (no pgrep needed). */
export async function qemuProcessesWith(needle: string): Promise<number[]> {
  const { readdirSync, readFileSync } = await import('node:fs');
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (/qemu-system/.test(argv[0] ?? '') && argv.some((a) => a.includes(needle))) pids.push(Number(d));
    } catch {
      // gone
    }
  }
  return pids;
}
