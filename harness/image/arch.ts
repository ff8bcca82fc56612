import { UsageError } from '../errors.ts';
import { ARCHES, type Arch } from '../vocabulary.ts';

export { ARCHES, type Arch };

interface ArchFacts {
  /** Debian's name for it. */
  deb: string;
  /** The multiarch folder libraries live in. */
  triplet: string;
  /** The ELF interpreter path binaries ask for. */
  loader: string;
  /** The serial console the kernel should write to under QEMU. */
  console: string;
  /** ELF e_machine. */
  elfMachine: number;
}

export const ARCH: Record<Arch, ArchFacts> = {
  x86_64: {
    deb: 'amd64',
    triplet: 'x86_64-linux-gnu',
    loader: '/lib64/ld-linux-x86-64.so.2',
    console: 'ttyS0',
    elfMachine: 62,
  },
  aarch64: {
    deb: 'arm64',
    triplet: 'aarch64-linux-gnu',
    loader: '/lib/ld-linux-aarch64.so.1',
    console: 'ttyAMA0',
    elfMachine: 183,
  },
};

/** This host's architecture in `uname -m` terms, the default guest architecture. */
export function hostArch(nodeArch: string = process.arch): Arch {
  if (nodeArch === 'x64') return 'x86_64';
  if (nodeArch === 'arm64') return 'aarch64';
  throw new UsageError(
    `no guest architecture matches this host (${nodeArch})`,
    'pass --arch x86_64 or --arch aarch64',
  );
}

export function parseArch(value: string): Arch {
  const aliases: Record<string, Arch> = {
    x86_64: 'x86_64',
    amd64: 'x86_64',
    x64: 'x86_64',
    aarch64: 'aarch64',
    arm64: 'aarch64',
  };
  const arch = aliases[value];
  if (!arch)
    throw new UsageError(
      `--arch ${JSON.stringify(value)} is not a guest architecture`,
      'use x86_64 or aarch64',
    );
  return arch;
}
