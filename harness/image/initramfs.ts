import { posix } from 'node:path';
import { EnvironmentError } from '../errors.ts';
import { projectFile } from '../project-root.ts';
import { readShellScript } from '../util/text.ts';
import { ARCH, type Arch } from './arch.ts';
import { busyboxApplets } from './busybox.ts';
import type { CpioEntry } from './cpio.ts';
import type { PackageTree } from './debian/deb.ts';
import { filesUnder, findInTrees, readInTree, type Trees } from './debian/tree.ts';
import { readElfDeps } from './elf.ts';

export const GUEST_INIT = projectFile('harness', 'image', 'guest', 'init.sh');

/** The arm of init.sh's start() that every added service arm goes before. */
const UNKNOWN_ENTRY_ARM = '    *) echo "nslab: unknown boot entry $1" ;;\n';

/**
 * The guest's /init as it goes into the image: LF line endings whatever the checkout gave init.sh, with a
 * start() arm for each added service (`[entry, command]`). None added: init.sh byte for byte, so that
 * linuxkit.yml's image keeps its digest.
 */
export function guestInit(starts: [string, string][] = []): Buffer {
  const script = readShellScript(GUEST_INIT);
  if (starts.length === 0) return Buffer.from(script);
  if (!script.includes(UNKNOWN_ENTRY_ARM))
    throw new EnvironmentError(`${GUEST_INIT} has no start() fallback arm to add service arms before`);
  const arms = starts.map(([entry, command]) => `    ${entry}) ${command} ;;\n`).join('');
  return Buffer.from(script.replace(UNKNOWN_ENTRY_ARM, `${arms}${UNKNOWN_ENTRY_ARM}`));
}

/** What a configuration adds to the image beyond the base lists (see debian-map.ts's additionsOf). */
export interface InitramfsAdditions {
  binaries: { name: string; to: string }[];
  starts: [string, string][];
}

/** Binaries copied into the image: from which package, and where they go. */
export const BINARIES: { name: string; to: string }[] = [
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
export const MODULES = [
  'virtio_ring', 'virtio', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci',
  'failover', 'net_failover', 'virtio_net', 'virtio-rng', 'virtio_console',
]; // prettier-ignore
/** aarch64 `virt` also has virtio-mmio transports. */
export const MODULES_AARCH64 = ['virtio_mmio'];

/**
 * The initramfs of the guest, from the unpacked packages (`trees`, never run): the binaries above with the
 * closure of their shared libraries (found by reading ELF headers), the loader, the kernel's virtio
 * modules in load order, nslab's /init and its boot list, and busybox's applets as links.
 */
export async function initramfsEntries(
  trees: Trees,
  kernel: PackageTree,
  kernelVersion: string,
  arch: Arch,
  boot: string[],
  adds: InitramfsAdditions = { binaries: [], starts: [] },
): Promise<CpioEntry[]> {
  const facts = ARCH[arch];
  const dirs = [
    'bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'lib', `lib/${facts.triplet}`, 'etc', 'etc/nslab',
    'etc/dropbear', 'root', 'proc', 'sys', 'dev', 'run', 'tmp', 'var', 'var/log', 'lib/modules',
    'lib/modules/nslab',
  ]; // prettier-ignore
  if (arch === 'x86_64') dirs.push('lib64');
  const entries: CpioEntry[] = dirs.map((d) => ({
    path: d,
    type: 'dir',
    mode: d === 'root' ? 0o700 : d === 'tmp' ? 0o1777 : 0o755,
  }));
  // /init writes to the console before devtmpfs is mounted.
  entries.push({ path: 'dev/console', type: 'char', mode: 0o600, rdev: [5, 1] });

  const wantLibs = new Set<string>();
  const libDirs = [`lib/${facts.triplet}`, `usr/lib/${facts.triplet}`];
  for (const b of [...BINARIES, ...adds.binaries]) {
    const src = findInTrees(
      trees,
      ['bin', 'sbin', 'usr/bin', 'usr/sbin'].map((d) => `${d}/${b.name}`),
    );
    if (!src) throw new EnvironmentError(`no ${b.name} binary in the unpacked packages`);
    const data = readInTree(src.tree, src.path);
    const deps = readElfDeps(data);
    if (deps && deps.machine !== facts.elfMachine)
      throw new EnvironmentError(`${b.name} is not an ${arch} binary`);
    deps?.needed.forEach((n) => wantLibs.add(n));
    entries.push({ path: b.to, type: 'file', mode: 0o755, data });
  }
  const libs = new Map<string, Buffer>();
  const queue = [...wantLibs];
  while (queue.length > 0) {
    const soname = queue.shift()!;
    if (libs.has(soname)) continue;
    const src = findInTrees(
      trees,
      libDirs.map((d) => `${d}/${soname}`),
    );
    if (!src)
      throw new EnvironmentError(
        `no package provides ${soname} for ${arch}; add it to the debian builder's package list`,
      );
    const found = readInTree(src.tree, src.path);
    libs.set(soname, found);
    readElfDeps(found)?.needed.forEach((n) => queue.push(n));
  }
  for (const [soname, data] of libs)
    entries.push({ path: `lib/${facts.triplet}/${soname}`, type: 'file', mode: 0o755, data });
  // The dynamic loader, where binaries look for it.
  const loaderName = posix.basename(facts.loader);
  const loader = findInTrees(
    trees,
    libDirs.map((d) => `${d}/${loaderName}`),
  );
  if (!loader) throw new EnvironmentError(`no ${loaderName} in libc6`);
  entries.push({
    path: facts.loader.slice(1),
    type: 'file',
    mode: 0o755,
    data: readInTree(loader.tree, loader.path),
  });

  // Kernel modules, numbered in load order.
  const all = filesUnder(kernel, `lib/modules/${kernelVersion}/kernel`);
  let n = 0;
  for (const m of [...MODULES, ...(arch === 'aarch64' ? MODULES_AARCH64 : [])]) {
    const file = all.find((f) => posix.basename(f) === `${m}.ko`);
    if (!file) continue; // built into this kernel
    entries.push({
      path: `lib/modules/nslab/${String(n++).padStart(2, '0')}-${m}.ko`,
      type: 'file',
      mode: 0o644,
      data: readInTree(kernel, file),
    });
  }

  entries.push({ path: 'init', type: 'file', mode: 0o755, data: guestInit(adds.starts) });
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
