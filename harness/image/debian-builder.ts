import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EnvironmentError, NslabError, ExitCode } from '../errors.ts';
import { ARCH, type Arch } from './arch.ts';
import {
  cachedImage,
  commitImage,
  describeFile,
  imageFileNames,
  openImageDir,
  vmlinuxName,
} from './cache.ts';
import { cpioArchive, type CpioEntry } from './cpio.ts';
import { DebianArchive } from './debian/archive.ts';
import { unpackDeb, type PackageTree } from './debian/deb.ts';
import { FetchError } from './debian/download.ts';
import { bookwormSources, mirrorsFromEnv, type DebianMirrors } from './debian/sources.ts';
import { ResolutionError } from './debian/resolution-error.ts';
import { VerificationError } from './debian/verification-error.ts';
import { additionsOf, mapLinuxkitImages } from './debian-map.ts';
import { filesEntries, sourceDigestInputs } from './files.ts';
import { BINARIES, guestInit, initramfsEntries, MODULES, MODULES_AARCH64 } from './initramfs.ts';
import { vmlinuxFromBzImage } from './lz4.ts';
import type { BuiltImage, ImageManifest } from './manifest.ts';
import type { ValidatedConfig } from './validate.ts';
import { removeOnExit } from '../util/exit-cleanup.ts';
import { withLock } from '../util/lock.ts';

/** Bumped when what this builder produces changes for the same inputs. */
const BUILDER_VERSION = 2;

/** Debian 12 packages the image is made of; the ELF check in initramfs.ts proves the list complete. */
export const DEBIAN_PACKAGES = [
  'busybox-static',
  'dash', // /bin/sh: busybox ash would run its own applets (unshare, nsenter) ahead of util-linux's
  'dropbear-bin',
  'util-linux',
  'iproute2',
  'runc', // for --runtime runc in the VM (linuxkit/runc's counterpart)
  // the libraries dropbear, nsenter, ip and runc link against
  'libc6', 'zlib1g', 'libtomcrypt1', 'libtommath1', 'libcrypt1', 'libgmp10', 'libselinux1', 'libpcre2-8-0',
  'libbpf1', 'libelf1', 'libmnl0', 'libbsd0', 'libcap2', 'libmd0', 'libcap-ng0', 'libseccomp2',
]; // prettier-ignore

export interface DebianBuildOptions {
  arch: Arch;
  cacheRoot: string;
  refresh?: boolean;
  /** The package cache (indices and .deb files); default <cacheRoot>/debian. Tests share one. */
  debRoot?: string;
  mirrors?: DebianMirrors;
  /** The keyring the archive must be signed with; default the shipped Debian keys. */
  keysFile?: string;
  log?: (line: string) => void;
  /** A transient status line for download progress (the CLI shows it on a terminal only). */
  status?: (text: string) => void;
}

/** With nothing added (linuxkit.yml) the same inputs as before additions existed: the same digest. */
async function builderFingerprint(adds: ReturnType<typeof additionsOf>): Promise<string> {
  const hash = createHash('sha256').update(String(BUILDER_VERSION));
  hash.update(guestInit(adds.starts));
  const PACKAGES = [...DEBIAN_PACKAGES, ...adds.packages];
  hash.update(
    JSON.stringify({ PACKAGES, BINARIES: [...BINARIES, ...adds.binaries], MODULES, MODULES_AARCH64 }),
  );
  return hash.digest('hex').slice(0, 16);
}

/** Sorted keys, so that the same configuration always hashes the same. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * Builds kernel + initrd + cmdline from Debian packages, fetched from Debian's archive and verified by
 * nslab itself (no apt-get, no dpkg-deb: the same code on Linux, macOS and Windows), unpacked in memory and
 * never installed or run, honouring linuxkit.yml where it maps. Same inputs, same digest: a cache hit
 * does no work.
 */
export async function buildDebianImage(
  validated: ValidatedConfig,
  options: DebianBuildOptions,
): Promise<BuiltImage> {
  // One build at a time per package cache: two would fetch the same files into the same places.
  const debRoot = options.debRoot ?? join(options.cacheRoot, 'debian');
  await mkdir(debRoot, { recursive: true });
  return withLock(
    join(debRoot, '.lock'),
    () =>
      buildLocked(validated, options, debRoot).catch((error) =>
        Promise.reject(cacheWriteError(archiveError(error), options.cacheRoot)),
      ),
    () => options.log?.('image: waiting for another nslab build to finish'),
  );
}

async function buildLocked(
  validated: ValidatedConfig,
  options: DebianBuildOptions,
  debRoot: string,
): Promise<BuiltImage> {
  const log = options.log ?? (() => {});
  const started = performance.now();
  const { config, file } = validated;
  const facts = ARCH[options.arch];

  const mapping = mapLinuxkitImages(config);
  if (mapping.unmapped.length > 0) {
    throw new NslabError(
      `${file}: the debian builder has no local equivalent for: ${mapping.unmapped.map((u) => `${u.entry} (${u.image})`).join(', ')}`,
      { exitCode: ExitCode.usage, hint: 'remove these entries, or build with --builder linuxkit' },
    );
  }

  const adds = additionsOf(mapping.entries);
  const archive = new DebianArchive(
    join(debRoot, facts.deb),
    facts.deb,
    bookwormSources(options.mirrors ?? mirrorsFromEnv(process.env)),
    { log, status: options.status, keysFile: options.keysFile },
  );
  await archive.ensureIndices(options.refresh ?? false);
  const resolved = await archive.resolve(
    [...DEBIAN_PACKAGES, ...adds.packages],
    `linux-image-cloud-${facts.deb}`,
  );
  const versions = Object.fromEntries(resolved.packages.map((p) => [p.name, p.version]));
  const cmdline = (config.kernel?.cmdline ?? '').trim();
  const digest = createHash('sha256')
    .update(
      JSON.stringify({
        builder: 'debian',
        fingerprint: await builderFingerprint(adds),
        arch: options.arch,
        config: canonical(config),
        sources: await sourceDigestInputs(config, file),
        packages: versions,
      }),
    )
    .digest('hex')
    .slice(0, 32);

  const hit = await cachedImage(options.cacheRoot, digest, log);
  if (hit) return hit;

  log(`image: building ${options.arch} image ${digest.slice(0, 12)} with the debian builder`);
  const debs = await archive.download(resolved.packages);
  await mkdir(options.cacheRoot, { recursive: true });
  // Named and registered before it exists: ended mid-build (even during this mkdir), the process removes it.
  const tmp = join(options.cacheRoot, `.build-${randomBytes(6).toString('hex')}`);
  const release = removeOnExit(tmp);
  await mkdir(tmp, { mode: 0o755 });
  try {
    // Largest first, so that the kernel's 100 MB of xz is on a worker thread before the small packages keep
    // this one busy (their decompression here would hold back even the reading of its file).
    const bySize = [...resolved.packages].sort((a, b) => b.size - a.size);
    const unpacking: Promise<[string, PackageTree]>[] = [];
    for (const ref of bySize) {
      const path = debs.get(ref.name)!;
      const data = await archive.readVerified(ref, path);
      unpacking.push(unpackDeb(data, path).then((tree) => [ref.name, tree]));
    }
    const trees = new Map(await Promise.all(unpacking));
    const kernelPkg = resolved.kernelPackage;
    const kernelTree = trees.get(kernelPkg)!;
    const vmlinuz = [...kernelTree.keys()].sort().find((p) => /^boot\/vmlinuz-[^/]+$/.test(p));
    if (!vmlinuz) throw new EnvironmentError(`${kernelPkg} has no /boot/vmlinuz-*`);
    const kernelVersion = vmlinuz.slice('boot/vmlinuz-'.length);
    const names = imageFileNames();
    const out = join(tmp, 'out');
    await mkdir(out);
    const kernelImage = (kernelTree.get(vmlinuz) as { data: Buffer }).data;
    await writeFile(join(out, names.kernel), kernelImage, { mode: 0o644 });

    const entries = await initramfsEntries(
      trees,
      kernelTree,
      kernelVersion,
      options.arch,
      mapping.entries.flatMap((e) => (e.boot ? [e.boot] : [])),
      adds,
    );
    entries.push(...(await filesEntries(config, file)));
    const archiveBytes = cpioArchive(dedupe(entries));
    // Stored uncompressed: the guest unpacks it ~0.2 s sooner under TCG than a gzip one (measured).
    await writeFile(join(out, names.initrd), archiveBytes);
    const vmlinux = options.arch === 'x86_64' ? vmlinuxFromBzImage(kernelImage) : undefined;
    if (vmlinux) await writeFile(join(out, vmlinuxName()), vmlinux);
    await writeFile(join(out, names.cmdline), `${cmdline}\n`);

    const manifest: ImageManifest = {
      schemaVersion: 1,
      digest,
      builder: 'debian',
      arch: options.arch,
      config: file,
      kernelVersion,
      cmdline,
      packages: versions,
      mapping: mapping.entries,
      files: {
        kernel: await describeFile(out, names.kernel),
        initrd: {
          ...(await describeFile(out, names.initrd)),
          unpackedSize: archiveBytes.length,
          compressed: false,
        },
        cmdline: await describeFile(out, names.cmdline),
        ...(vmlinux ? { vmlinux: await describeFile(out, vmlinuxName()) } : {}),
      },
      buildTimeMs: Math.round(performance.now() - started),
      createdAt: new Date().toISOString(),
      secretsChannel: 'virtio-serial',
    };
    await writeFile(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const dir = await commitImage(out, options.cacheRoot, digest);
    log(`image: built ${dir} in ${(manifest.buildTimeMs / 1000).toFixed(1)} s`);
    return { ...(await openImageDir(dir, false)) };
  } catch (error) {
    throw cacheWriteError(error, options.cacheRoot);
  } finally {
    // Nothing half-built stays: the cache holds whole images only (commitImage renames one into place).
    release();
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The archive's failures as the CLI reports them (exit 3): an unreachable mirror names the URL and how to
 * do without it; a file that fails verification names the file, what was expected and what came.
 */
function archiveError(error: unknown): unknown {
  if (error instanceof FetchError) {
    return new EnvironmentError(
      `cannot fetch from Debian's archive: ${error.message}`,
      'the first build of an image needs the archive (later builds are offline): check the network, set NSLAB_DEBIAN_MIRROR to a mirror that answers, or pass --image DIR with an image built elsewhere (e.g. a CI artifact)',
      error,
    );
  }
  if (error instanceof ResolutionError) {
    return new EnvironmentError(
      `Debian's package indices do not hold what the image needs: ${error.message}`,
      'fetch the indices again (nslab image build --refresh); if that does not help, the release has changed under this nslab',
      error,
    );
  }
  if (error instanceof VerificationError) {
    return new EnvironmentError(
      `the Debian archive sent a file that fails verification: ${error.message}`,
      "nothing of it was kept; try again later or from another mirror (NSLAB_DEBIAN_MIRROR). A signature that never verifies means the mirror is not Debian's",
      error,
    );
  }
  return error;
}

/** A full or read-only disk under the cache is the machine's state, said plainly; anything else as it is. */
function cacheWriteError(error: unknown, cacheRoot: string): unknown {
  const what: Record<string, string> = {
    ENOSPC: 'no space left on the device',
    EDQUOT: 'the disk quota is used up',
    EROFS: 'the file system is read-only',
  };
  const e = error as NodeJS.ErrnoException;
  if (!e.code || !what[e.code]) return error;
  return new EnvironmentError(
    `cannot write the image or its packages into the cache ${cacheRoot}: ${what[e.code]}`,
    'free some space there, or pass --cache on another disk; the images already cached are untouched',
    error,
  );
}

function dedupe(entries: CpioEntry[]): CpioEntry[] {
  const last = new Map<string, number>();
  entries.forEach((e, i) => last.set(e.path.replace(/^\/+/, ''), i));
  return entries.filter((e, i) => last.get(e.path.replace(/^\/+/, '')) === i || e.type === 'dir');
}
