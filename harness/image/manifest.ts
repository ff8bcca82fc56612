import type { Arch } from './arch.ts';
import type { MappedEntry } from './debian-map.ts';

export const IMAGE_NAME = 'nslab';

export interface ImageFile {
  name: string;
  size: number;
  sha256: string;
}

/** vm-images/<digest>/manifest.json: what was built, from what, and how to check it is intact. */
export interface ImageManifest {
  schemaVersion: 1;
  digest: string;
  builder: 'debian' | 'linuxkit' | 'external';
  arch: Arch;
  config?: string;
  kernelVersion?: string;
  cmdline: string;
  /** The console line the guest's /init prints once it is ready to be logged into; none: wait for SSH only. */
  readyMarker?: string;
  packages: Record<string, string>;
  mapping?: MappedEntry[];
  files: {
    kernel: ImageFile;
    initrd: ImageFile & { unpackedSize?: number; compressed?: boolean };
    cmdline: ImageFile;
    /** x86_64: the kernel already decompressed (ELF), booted through QEMU's PVH entry: ~0.45 s faster under TCG. */
    vmlinux?: ImageFile;
  };
  buildTimeMs: number;
  createdAt: string;
  /**
   * How a boot hands the guest its keys: 'virtio-serial' (the guest's init waits for them on the port
   * nslab.secrets, so a booted guest can be saved without secrets and restored), else an overlay appended
   * to the initrd (LinuxKit's images, and images made before nslab had the channel).
   */
  secretsChannel?: 'virtio-serial';
}

/** A ready image on disk. */
export interface BuiltImage {
  dir: string;
  kernel: string;
  /** What QEMU's -kernel gets: the vmlinux where there is one, else the kernel. */
  bootKernel: string;
  initrd: string;
  cmdline: string;
  manifest: ImageManifest;
  cacheHit: boolean;
}
