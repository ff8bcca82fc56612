import type { LinuxkitConfig } from './linuxkit-config.ts';
import { IMAGE_SECTIONS } from './linuxkit-schema.ts';

/**
 * What the debian builder puts in place of each LinuxKit image it knows. `boot` names an entry that the
 * guest /init runs (onboot: once, in order; service: in the background); null means nothing runs for it.
 */
interface Equivalent {
  boot: string | null;
  note: string;
  /** What only this entry needs: the builder adds it for configurations that have the entry, and no others. */
  adds?: ImageAdditions;
}

/** Packages, binaries and a guest /init service arm that one mapped entry brings into the image. */
export interface ImageAdditions {
  packages: string[];
  binaries: { name: string; to: string }[];
  /** The shell command /init's start() runs for this boot entry (one line, no guest input in it). */
  start?: string;
}

/**
 * dockerd on the initramfs root: DOCKER_RAMDISK makes it (and runc) chroot, since rootfs cannot be
 * pivot_root'ed away from; its other settings are the configuration's /etc/docker/daemon.json.
 */
const DOCKERD: ImageAdditions = {
  packages: [
    'docker.io', 'containerd',
    // the libraries dockerd links against (libsystemd0, libdevmapper1.02.1) and theirs
    'libsystemd0', 'libdevmapper1.02.1', 'libgcrypt20', 'libgpg-error0', 'liblzma5', 'libzstd1', 'liblz4-1',
    'libudev1',
  ], // prettier-ignore
  binaries: [
    { name: 'dockerd', to: 'usr/sbin/dockerd' },
    { name: 'containerd', to: 'usr/bin/containerd' },
    { name: 'containerd-shim-runc-v2', to: 'usr/bin/containerd-shim-runc-v2' },
  ],
  start: 'DOCKER_RAMDISK=true dockerd < /dev/null >> /var/log/dockerd.log 2>&1 &',
};

export const DEBIAN_EQUIVALENTS: Record<string, Equivalent> = {
  'linuxkit/kernel': {
    boot: null,
    note: "Debian's linux-image-cloud kernel, with only the virtio modules the guest needs",
  },
  'linuxkit/init': { boot: null, note: "nslab's /init (busybox sh) as PID 1" },
  'linuxkit/runc': {
    boot: null,
    note: "Debian's runc, for --runtime runc (/init starts the mapped services itself, without it)",
  },
  'linuxkit/containerd': { boot: null, note: 'not needed: /init supervises the mapped services itself' },
  'linuxkit/ca-certificates': { boot: null, note: 'not needed: nothing in the guest speaks TLS' },
  'linuxkit/sysctl': { boot: 'sysctl', note: 'busybox sysctl -p over /etc/sysctl.d/*.conf' },
  'linuxkit/rngd': { boot: 'rngd', note: "the kernel's virtio-rng driver and RDRAND feed the entropy pool" },
  'linuxkit/dhcpcd': {
    boot: 'dhcpcd',
    note: "the address QEMU's user network always offers (10.0.2.15/24, gateway 10.0.2.2), set without a DHCP exchange",
  },
  'linuxkit/sshd': { boot: 'sshd', note: 'dropbear (Debian dropbear-bin), keys from the per-boot archive' },
  'linuxkit/getty': { boot: 'getty', note: 'busybox getty on the console' },
  'linuxkit/metadata': { boot: null, note: 'per-boot data comes in an archive appended to the initrd' },
  // LinuxKit's docker example runs the docker:<version>-dind image as a service.
  docker: {
    boot: 'docker',
    note: "Debian's docker.io, containerd and runc: dockerd started by /init, configured by /etc/docker/daemon.json",
    adds: DOCKERD,
  },
};

export interface MappedEntry {
  /** Where it stands in linuxkit.yml, e.g. `services[1]` or `init[0]`. */
  entry: string;
  image: string;
  /** onboot or service line for /init, or null. */
  boot: string | null;
  note: string;
}

/** `docker.io/linuxkit/sshd:abc@sha256:...` → `linuxkit/sshd`. */
export function imageRepository(ref: string): string {
  let r = ref.split('@')[0]!;
  const lastSlash = r.lastIndexOf('/');
  const colon = r.indexOf(':', lastSlash + 1);
  if (colon >= 0) r = r.slice(0, colon);
  return r.replace(/^(docker\.io|index\.docker\.io)\//, '').replace(/^library\//, '');
}

/** What the mapped entries add to the base image, in entry order; empty lists for linuxkit.yml. */
export function additionsOf(entries: MappedEntry[]): ImageAdditions & { starts: [string, string][] } {
  const out = {
    packages: [] as string[],
    binaries: [] as ImageAdditions['binaries'],
    starts: [] as [string, string][],
  };
  const seen = new Set<Equivalent>();
  for (const e of entries) {
    const eq = DEBIAN_EQUIVALENTS[imageRepository(e.image)];
    if (!eq?.adds || seen.has(eq)) continue;
    seen.add(eq);
    out.packages.push(...eq.adds.packages);
    out.binaries.push(...eq.adds.binaries);
    if (eq.adds.start && eq.boot) out.starts.push([eq.boot, eq.adds.start]);
  }
  return out;
}

export interface Mapping {
  entries: MappedEntry[];
  /** Entries nothing here can stand in for; the build stops and names each. */
  unmapped: { entry: string; image: string }[];
}

export function mapLinuxkitImages(config: LinuxkitConfig): Mapping {
  const entries: MappedEntry[] = [];
  const unmapped: Mapping['unmapped'] = [];
  const add = (entry: string, image: string, kind: 'onboot' | 'service' | 'init') => {
    const eq = DEBIAN_EQUIVALENTS[imageRepository(image)];
    if (!eq) return void unmapped.push({ entry, image });
    entries.push({
      entry,
      image,
      boot: eq.boot && kind !== 'init' ? `${kind} ${eq.boot}` : null,
      note: eq.note,
    });
  };
  if (config.kernel?.image) add('kernel.image', config.kernel.image, 'init');
  (config.init ?? []).forEach((img, i) => add(`init[${i}]`, img, 'init'));
  for (const section of IMAGE_SECTIONS) {
    if (section === 'onshutdown') continue;
    (config[section] ?? []).forEach((img, i) =>
      add(`${section}[${i}]`, img.image, section === 'services' ? 'service' : 'onboot'),
    );
  }
  (config.onshutdown ?? []).forEach((img, i) =>
    unmapped.push({ entry: `onshutdown[${i}]`, image: img.image }),
  );
  return { entries, unmapped };
}
