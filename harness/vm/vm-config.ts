import type { BuiltImage } from '../image/manifest.ts';
import type { Platform } from '../platform/index.ts';
import type { GuestNetwork } from '../vocabulary.ts';
import type { Accel, AccelChoice } from './accel.ts';
import type { AccelVerdicts } from './accel-verdict.ts';

/** What a VmBuilder was told: everything a boot needs besides what it picks itself (id, ports, keys). */
export interface VmConfig {
  image: BuiltImage;
  /** The qemu-system binary; found on PATH and the usual install folders when undefined. */
  qemu?: string;
  accel: AccelChoice;
  /** Leave the VM running when this process exits (nslab vm up). */
  keep: boolean;
  memoryMiB: number;
  /** Undefined: defaultBootTimeoutMs of the accelerator. */
  bootTimeoutMs?: number;
  /** Appended to the image's kernel command line. */
  extraCmdline: string;
  log: (line: string) => void;
  signal?: AbortSignal;
  /** The host port to ask for first; a free one when undefined. */
  sshPort?: number;
  /** How the SSH port of each further attempt is picked (default: a free one); tests hand out taken ones. */
  pickPort?: () => Promise<number>;
  platform: Platform;
  /** Where remembered accelerator verdicts are kept. */
  verdicts: AccelVerdicts;
  /** Restore a saved booted guest where there is one, and save one after a cold boot (--no-snapshot: off). */
  snapshots: boolean;
  /** What the guest's network reaches: isolated (the default) or open (--guest-network). */
  guestNetwork: GuestNetwork;
}

/** Generous under TCG, tight with a hardware accelerator; --boot-timeout overrides. */
export const defaultBootTimeoutMs = (accel: Accel) => (accel === 'tcg' ? 120_000 : 30_000);
