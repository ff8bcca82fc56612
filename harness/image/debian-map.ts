import type { LinuxkitConfig } from './linuxkit-config.ts';
import { IMAGE_SECTIONS } from './linuxkit-schema.ts';

/**
 * What the debian builder puts in place of each LinuxKit image it knows. `boot` names an entry that the
 * guest /init runs (onboot: once, in order; service: in the background); null means nothing runs for it.
 */
interface Equivalent {
  boot: string | null;
  note: string;
}

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
