import { randomBytes } from 'node:crypto';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { execa } from 'execa';
import { EnvironmentError, NslabError, ExitCode } from '../errors.ts';
import { AptCache } from './apt.ts';
import { ARCH, type Arch } from './arch.ts';
import {
  cachedImage,
  commitImage,
  describeFile,
  imageFileNames,
  openImageDir,
  vmlinuxName,
} from './cache.ts';
import { vmlinuxFromBzImage } from './lz4.ts';
import { busyboxApplets } from './busybox.ts';
import { cpioArchive, type CpioEntry } from './cpio.ts';
import { mapLinuxkitImages } from './debian-map.ts';
import { readElfDeps } from './elf.ts';
import { filesEntries, sourceDigestInputs } from './files.ts';
import type { BuiltImage, ImageManifest } from './manifest.ts';
import type { ValidatedConfig } from './validate.ts';
import { removeOnExit } from '../util/exit-cleanup.ts';
import { withLock } from '../util/lock.ts';
import { projectFile } from '../project-root.ts';

/** Bumped when what this builder produces changes for the same inputs. */
const BUILDER_VERSION = 2;

const GUEST_INIT = projectFile('harness', 'image', 'guest', 'init.sh');

/** Debian 12 packages the image is made of; the ELF check below proves the list complete. */
const PACKAGES = [
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

/** Binaries copied into the image: from which package, and where they go. */
const BINARIES: { name: string; to: string }[] = [
  { name: 'busybox', to: 'bin/busybox' },
  { name: 'dash', to: 'bin/dash' },
  { name: 'dropbear', to: 'usr/sbin/dropbear' },
  { name: 'unshare', to: 'usr/bin/unshare' },
  { name: 'nsenter', to: 'usr/bin/nsenter' },
  { name: 'setpriv', to: 'usr/bin/setpriv' },
  { name: 'ipcs', to: 'usr/bin/ipcs' },
  { name: 'ipcmk', to: 'usr/bin/ipcmk' },
  { name: 'ipcrm', to: 'usr/bin/ipcrm' }, // so that ipc-ns removes the queue it made
  { name: 'ip', to: 'usr/sbin/ip' },
  { name: 'runc', to: 'usr/sbin/runc' },
];

/** Guest kernel modules, in load order (virtio-pci NIC, entropy, console). */
const MODULES = [
  'virtio_ring', 'virtio', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci',
  'failover', 'net_failover', 'virtio_net', 'virtio-rng', 'virtio_console',
]; // prettier-ignore
/** aarch64 `virt` also has virtio-mmio transports. */
const MODULES_AARCH64 = ['virtio_mmio'];

export interface DebianBuildOptions {
  arch: Arch;
  cacheRoot: string;
  refresh?: boolean;
  aptRoot?: string;
  log?: (line: string) => void;
}

async function builderFingerprint(): Promise<string> {
  const hash = createHash('sha256').update(String(BUILDER_VERSION));
  hash.update(await readFile(GUEST_INIT));
  hash.update(JSON.stringify({ PACKAGES, BINARIES, MODULES, MODULES_AARCH64 }));
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
 * Builds kernel + initrd + cmdline offline from Debian packages (downloaded into a cache, unpacked, never
 * installed or run), honouring linuxkit.yml where it maps. Same inputs, same digest: a cache hit does no work.
 */
export async function buildDebianImage(
  validated: ValidatedConfig,
  options: DebianBuildOptions,
): Promise<BuiltImage> {
  // One build at a time per package cache: apt-get and the image cache are not safe to share concurrently.
  const aptRoot = options.aptRoot ?? join(options.cacheRoot, 'apt');
  await mkdir(aptRoot, { recursive: true });
  return withLock(
    join(aptRoot, '.lock'),
    () => buildLocked(validated, options, aptRoot),
    () => options.log?.('image: waiting for another nslab build to finish'),
  );
}

async function buildLocked(
  validated: ValidatedConfig,
  options: DebianBuildOptions,
  aptRoot: string,
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

  const apt = new AptCache(join(aptRoot, facts.deb), facts.deb);
  await apt.ensureLists(options.refresh ?? false, log);
  const kernelMeta = `linux-image-cloud-${facts.deb}`;
  const resolved = await resolveWithKernel(apt, kernelMeta);
  const cmdline = (config.kernel?.cmdline ?? '').trim();
  const digest = createHash('sha256')
    .update(
      JSON.stringify({
        builder: 'debian',
        fingerprint: await builderFingerprint(),
        arch: options.arch,
        config: canonical(config),
        sources: await sourceDigestInputs(config, file),
        packages: resolved.versions,
      }),
    )
    .digest('hex')
    .slice(0, 32);

  const hit = await cachedImage(options.cacheRoot, digest, log);
  if (hit) return hit;

  log(`image: building ${options.arch} image ${digest.slice(0, 12)} with the debian builder`);
  const debs = await apt.download(resolved.versions, log);
  await mkdir(options.cacheRoot, { recursive: true });
  // Named and registered before it exists: ended mid-build (even during this mkdir), the process removes
  // it on exit, its unpackers first.
  const tmp = join(options.cacheRoot, `.build-${randomBytes(6).toString('hex')}`);
  const unpackers = new Set<number>();
  const release = removeOnExit(tmp, () => [...unpackers]);
  await mkdir(tmp, { mode: 0o755 });
  try {
    const staging = join(tmp, 'staging');
    // Every unpacker is waited for, failed or not: none may still write while the folder is removed.
    const unpacked = await Promise.allSettled(
      Object.entries(debs).map(async ([name, deb]) => {
        await mkdir(join(staging, name), { recursive: true });
        // A process group of its own, so that an exit hook can end it with the tar it starts.
        const child = execa('dpkg-deb', ['-x', deb, join(staging, name)], { detached: true });
        if (child.pid) unpackers.add(child.pid);
        await child.finally(() => child.pid && unpackers.delete(child.pid));
      }),
    );
    const failed = unpacked.find((u) => u.status === 'rejected');
    if (failed) throw failed.reason;
    const kernelPkg = resolved.kernelPackage;
    const kernelRoot = join(staging, kernelPkg);
    const vmlinuz = (await readdir(join(kernelRoot, 'boot'))).find((f) => f.startsWith('vmlinuz-'));
    if (!vmlinuz) throw new EnvironmentError(`${kernelPkg} has no /boot/vmlinuz-*`);
    const kernelVersion = vmlinuz.slice('vmlinuz-'.length);
    const names = imageFileNames();
    const out = join(tmp, 'out');
    await mkdir(out);
    await copyFile(join(kernelRoot, 'boot', vmlinuz), join(out, names.kernel));

    const entries = await initramfsEntries(
      staging,
      kernelRoot,
      kernelVersion,
      options.arch,
      mapping.entries.flatMap((e) => (e.boot ? [e.boot] : [])),
    );
    entries.push(...(await filesEntries(config, file)));
    const archive = cpioArchive(dedupe(entries));
    // Stored uncompressed: the guest unpacks it ~0.2 s sooner under TCG than a gzip one (measured).
    await writeFile(join(out, names.initrd), archive);
    const vmlinux =
      options.arch === 'x86_64' ? vmlinuxFromBzImage(await readFile(join(out, names.kernel))) : undefined;
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
      packages: resolved.versions,
      mapping: mapping.entries,
      files: {
        kernel: await describeFile(out, names.kernel),
        initrd: {
          ...(await describeFile(out, names.initrd)),
          unpackedSize: archive.length,
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

/** A full or read-only disk under the cache is the machine's state, said plainly; anything else as it is. */
function cacheWriteError(error: unknown, cacheRoot: string): unknown {
  const what: Record<string, string> = {
    ENOSPC: 'no space left on the device',
    EDQUOT: 'the disk quota is used up',
    EROFS: 'the file system is read-only',
  };
  // From Node, the errno code; from dpkg-deb, its words.
  const words: Record<string, RegExp> = {
    ENOSPC: /No space left on device/,
    EDQUOT: /Disk quota exceeded/,
    EROFS: /Read-only file system/,
  };
  const e = error as NodeJS.ErrnoException & { stderr?: unknown };
  const code =
    e.code && what[e.code]
      ? e.code
      : Object.keys(words).find((k) => words[k]!.test(`${e.message ?? ''} ${String(e.stderr ?? '')}`));
  if (!code) return error;
  return new EnvironmentError(
    `cannot write the image into the cache ${cacheRoot}: ${what[code]}`,
    'free some space there, or pass --cache on another disk; the images already cached are untouched',
    error,
  );
}

async function resolveWithKernel(apt: AptCache, kernelMeta: string) {
  const kernelPackage = (await apt.dependsOf(kernelMeta)).find((d) => d.startsWith('linux-image-'));
  if (!kernelPackage) throw new EnvironmentError(`cannot tell which kernel ${kernelMeta} stands for`);
  const versions = await apt.resolve([...PACKAGES, kernelPackage]);
  return { kernelPackage, versions };
}

function dedupe(entries: CpioEntry[]): CpioEntry[] {
  const last = new Map<string, number>();
  entries.forEach((e, i) => last.set(e.path.replace(/^\/+/, ''), i));
  return entries.filter((e, i) => last.get(e.path.replace(/^\/+/, '')) === i || e.type === 'dir');
}

/**
 * Finds a file by relative path in the unpacked packages (`roots`); returns it and its package's root. A
 * symlink counts even when its target is absolute, and so only resolvable inside its package.
 */
async function findIn(roots: string[], rels: string[]): Promise<{ path: string; root: string } | undefined> {
  for (const root of roots) {
    for (const rel of rels) {
      const p = join(root, rel);
      if (existsSync(p) || (await readlink(p).catch(() => undefined))) return { path: p, root };
    }
  }
  return undefined;
}

/** Reads a file through symlinks inside one unpacked package (links there are relative or absolute to its root). */
async function readResolved(path: string, pkgRoot: string, depth = 0): Promise<Buffer> {
  const s = await stat(path).catch(() => undefined);
  if (s) return readFile(path);
  const target = await readlink(path);
  if (depth > 8) throw new Error(`symlink loop at ${path}`);
  const next = target.startsWith('/') ? join(pkgRoot, target) : join(path, '..', target);
  return readResolved(next, pkgRoot, depth + 1);
}

async function initramfsEntries(
  staging: string,
  kernelRoot: string,
  kernelVersion: string,
  arch: Arch,
  boot: string[],
): Promise<CpioEntry[]> {
  const facts = ARCH[arch];
  const dirs = [
    'bin',
    'sbin',
    'usr',
    'usr/bin',
    'usr/sbin',
    'lib',
    `lib/${facts.triplet}`,
    'etc',
    'etc/nslab',
    'etc/dropbear',
    'root',
    'proc',
    'sys',
    'dev',
    'run',
    'tmp',
    'var',
    'var/log',
    'lib/modules',
    'lib/modules/nslab',
  ];
  if (arch === 'x86_64') dirs.push('lib64');
  const entries: CpioEntry[] = dirs.map((d) => ({
    path: d,
    type: 'dir',
    mode: d === 'root' ? 0o700 : d === 'tmp' ? 0o1777 : 0o755,
  }));
  // /init writes to the console before devtmpfs is mounted.
  entries.push({ path: 'dev/console', type: 'char', mode: 0o600, rdev: [5, 1] });

  const libs = new Map<string, Buffer>();
  const wantLibs = new Set<string>();
  const libDirs = [`lib/${facts.triplet}`, `usr/lib/${facts.triplet}`];
  const roots = (await readdir(staging)).map((pkg) => join(staging, pkg));
  for (const b of BINARIES) {
    const src = await findIn(
      roots,
      ['bin', 'sbin', 'usr/bin', 'usr/sbin'].map((d) => `${d}/${b.name}`),
    );
    if (!src) throw new EnvironmentError(`no ${b.name} binary in the unpacked packages`);
    const data = await readResolved(src.path, src.root);
    const deps = readElfDeps(data);
    if (deps && deps.machine !== facts.elfMachine)
      throw new EnvironmentError(`${b.name} is not an ${arch} binary`);
    deps?.needed.forEach((n) => wantLibs.add(n));
    entries.push({ path: b.to, type: 'file', mode: 0o755, data });
  }
  // The closure of shared libraries, found by reading ELF headers (no binary of the guest is run).
  const queue = [...wantLibs];
  while (queue.length > 0) {
    const soname = queue.shift()!;
    if (libs.has(soname)) continue;
    const src = await findIn(
      roots,
      libDirs.map((d) => `${d}/${soname}`),
    );
    if (!src)
      throw new EnvironmentError(
        `no package provides ${soname} for ${arch}; add it to the debian builder's package list`,
      );
    const found = await readResolved(src.path, src.root);
    libs.set(soname, found);
    readElfDeps(found)?.needed.forEach((n) => queue.push(n));
  }
  for (const [soname, data] of libs)
    entries.push({ path: `lib/${facts.triplet}/${soname}`, type: 'file', mode: 0o755, data });
  // The dynamic loader, where binaries look for it.
  const loaderName = posix.basename(facts.loader);
  const loaderSrc = await findIn(
    roots,
    libDirs.map((d) => `${d}/${loaderName}`),
  );
  if (!loaderSrc) throw new EnvironmentError(`no ${loaderName} in libc6`);
  entries.push({
    path: facts.loader.slice(1),
    type: 'file',
    mode: 0o755,
    data: await readResolved(loaderSrc.path, loaderSrc.root),
  });

  // Kernel modules, numbered in load order.
  const modRoot = join(kernelRoot, 'lib', 'modules', kernelVersion, 'kernel');
  const all = await listFiles(modRoot);
  let n = 0;
  for (const m of [...MODULES, ...(arch === 'aarch64' ? MODULES_AARCH64 : [])]) {
    const file = all.find((f) => basename(f) === `${m}.ko`);
    if (!file) continue; // built into this kernel
    entries.push({
      path: `lib/modules/nslab/${String(n++).padStart(2, '0')}-${m}.ko`,
      type: 'file',
      mode: 0o644,
      data: await readFile(file),
    });
  }

  entries.push({ path: 'init', type: 'file', mode: 0o755, data: await readFile(GUEST_INIT) });
  entries.push({
    path: 'etc/nslab/boot.conf',
    type: 'file',
    mode: 0o644,
    data: boot.map((b) => `${b}\n`).join(''),
  });
  entries.push({
    path: 'etc/passwd',
    type: 'file',
    mode: 0o644,
    data: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  });
  entries.push({
    path: 'etc/group',
    type: 'file',
    mode: 0o644,
    data: 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n',
  });
  entries.push({ path: 'etc/shells', type: 'file', mode: 0o644, data: '/bin/sh\n/bin/dash\n/bin/ash\n' });
  entries.push({ path: 'bin/sh', type: 'symlink', mode: 0o777, data: 'dash' });
  // busybox's applets as links, made now rather than by `busybox --install` at every boot (~0.15 s under TCG).
  const busybox = entries.find((e) => e.path === 'bin/busybox')!.data as Buffer;
  const taken = new Set(entries.map((e) => e.path));
  for (const applet of busyboxApplets(busybox) ?? []) {
    if (!taken.has(`bin/${applet}`))
      entries.push({ path: `bin/${applet}`, type: 'symlink', mode: 0o777, data: 'busybox' });
  }
  return entries;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p);
  }
  return out;
}
