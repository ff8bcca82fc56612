import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { ARCH, type Arch } from '../arch.ts';
import { withLock } from '../../util/lock.ts';
import { DebianArchive } from './archive.ts';
import { unpackDeb } from './deb.ts';
import { bookwormSources, mirrorsFromEnv } from './sources.ts';

export interface PackageFileOptions {
  arch: Arch;
  /** The image cache; the package cache is its debian/ folder, shared with the image builder. */
  cacheRoot: string;
  log?: (line: string) => void;
  status?: (text: string) => void;
}

/**
 * One file of one Debian 12 package for an architecture (e.g. busybox-static's bin/busybox for arm64), from
 * the same verified archive and cache as the image builder: so that a Mac can hand a Linux binary of the
 * right architecture to a Docker engine without any registry.
 */
export async function debianPackageFile(
  pkg: string,
  path: string,
  o: PackageFileOptions,
): Promise<{ data: Buffer; version: string }> {
  const debRoot = join(o.cacheRoot, 'debian');
  await mkdir(debRoot, { recursive: true });
  const deb = ARCH[o.arch].deb;
  // The builder's lock: both fetch into the same folders.
  return withLock(join(debRoot, '.lock'), async () => {
    const archive = new DebianArchive(join(debRoot, deb), deb, bookwormSources(mirrorsFromEnv(process.env)), {
      log: o.log,
      status: o.status,
    });
    await archive.ensureIndices(false);
    const resolved = await archive.resolve([pkg], `linux-image-cloud-${deb}`);
    const ref = resolved.packages.find((p) => p.name === pkg)!;
    const file = (await archive.download([ref])).get(pkg)!;
    const tree = await unpackDeb(await archive.readVerified(ref, file), file);
    const entry = tree.get(path);
    if (entry?.type !== 'file') throw new Error(`${pkg} ${ref.version} (${deb}) has no file ${path}`);
    return { data: entry.data, version: ref.version };
  });
}
