import type { Arch } from '../image/arch.ts';
import type { Platform } from '../platform/index.ts';

export const ACCELS = ['auto', 'kvm', 'hvf', 'whpx', 'tcg'] as const;
export type AccelChoice = (typeof ACCELS)[number];
export type Accel = Exclude<AccelChoice, 'auto'>;

/** What probing this host found (see probeAccelerators); false where a probe does not apply. */
export interface AccelProbes {
  /** /dev/kvm opened read-write. */
  kvm: boolean;
  /** `sysctl -n kern.hv_support` printed 1. */
  hvf: boolean;
  /** A short `qemu -accel whpx` run worked. */
  whpx: boolean;
  /** Why the device did not open (e.g. ENOENT, EACCES), for `nslab doctor`. */
  kvmError?: string;
  /**
   * macOS: whether the QEMU binary carries the com.apple.security.hypervisor entitlement, without which
   * macOS refuses it HVF whatever kern.hv_support says (codesign -d --entitlements); undefined if unknown.
   */
  hvfEntitlement?: 'present' | 'missing';
  /** macOS on Apple Silicon: `sysctl -n hw.optional.arm.FEAT_SME` printed 1 (M4 and later). */
  sme?: boolean;
}

/**
 * What of the host's CPU changes the `-cpu` choice: its architecture, and on Apple Silicon whether it has
 * SME (M4 and later; `sysctl hw.optional.arm.FEAT_SME`). Probed on macOS only; elsewhere `sme` is unset.
 */
export interface HostCpu {
  arch: Arch;
  sme?: boolean;
}

/** What `codesign -d --entitlements - --xml QEMU` says about the hypervisor entitlement. Pure. */
export function parseEntitlements(r: {
  exitCode?: number;
  stdout: string;
  stderr: string;
}): AccelProbes['hvfEntitlement'] {
  if (/com\.apple\.security\.hypervisor<\/key>\s*<true\s*\/>/.test(r.stdout)) return 'present';
  // Signed without it, or not signed at all: either way macOS will not give it the hypervisor.
  if (r.exitCode === 0 || /not signed at all/.test(r.stderr)) return 'missing';
  return undefined;
}

export interface AccelDecision {
  accel: Accel;
  reason: string;
}

/**
 * Chooses the accelerator from what probing found, never from assumptions. A guest of another architecture
 * always gets TCG. Asking for one that is not usable returns an error text (the CLI exits 3 with it). Pure.
 */
export function chooseAccelerator(input: {
  platform: Platform;
  hostArch: Arch;
  guestArch: Arch;
  requested: AccelChoice;
  probes: AccelProbes;
}): AccelDecision | { error: string } {
  const { hostArch, guestArch, requested, probes } = input;
  const native = input.platform.accelerator;
  const platform = input.platform.os;
  const foreign = hostArch !== guestArch;
  const usable = (a: Accel): string | undefined => {
    if (a === 'tcg') return undefined;
    if (a !== native) return `${a} is not an accelerator of ${platform} (that is ${native})`;
    if (foreign)
      return `${a} cannot run an ${guestArch} guest on this ${hostArch} host; only tcg emulates another architecture`;
    if (a === 'hvf' && probes.hvf && probes.hvfEntitlement === 'missing')
      return 'this QEMU lacks the com.apple.security.hypervisor entitlement, so macOS refuses it HVF (brew reinstall qemu gives a signed one)';
    if (!probes[a]) {
      return {
        kvm: '/dev/kvm is missing or not read-write for this user (add the user to the kvm group, or enable virtualization)',
        hvf: 'the Hypervisor framework is not available (sysctl kern.hv_support is not 1)',
        whpx: 'the Windows Hypervisor Platform did not start (enable the "Windows Hypervisor Platform" feature)',
      }[a];
    }
    return undefined;
  };
  if (requested !== 'auto') {
    const why = usable(requested);
    if (why) return { error: `--accel ${requested} is not usable here: ${why}` };
    return { accel: requested, reason: `asked for with --accel ${requested}` };
  }
  const why = usable(native);
  if (!why)
    return {
      accel: native,
      reason: `${native} is available (${guestArch} guest on a ${hostArch} ${platform} host)`,
    };
  return { accel: 'tcg', reason: `software emulation: ${why}` };
}

/**
 * `-cpu`: the host's CPU with a hardware accelerator, except where it is known not to boot under HVF
 * (Lima's choices, with their sources):
 * - Apple M4-class CPUs with SME: `cortex-a72`, not `host` (QEMU's HVF exposes SME that it cannot run; QEMU
 *   issues 2665 and 2721, lima 3032 and 3226);
 * - Intel Macs: `host,-pdpe1gb` (QEMU 8.0 and later abort with `host`: lima 1485).
 * Elsewhere the host's CPU only with a hardware accelerator. Under TCG, a model with RDRAND so that the guest
 * has entropy at once: for x86_64, qemu64+rdrand boots about 10% faster than `max` (measured: 3.3 s vs 3.65 s
 * to the first SSH command); for aarch64, cortex-a57 (`max` takes 6-12 s, ../shared/notes/boot-facts.md).
 * WHPX on Windows on Arm (QEMU 11.0+) takes `host`, as QEMU's docs/system/whpx.rst shows; on x86_64 WHPX
 * ignores -cpu (same page), and qemu64 is a model every qemu-system-x86_64 knows.
 */
export function cpuModel(accel: Accel, guestArch: Arch, host?: HostCpu): string {
  if (accel === 'hvf' && guestArch === 'aarch64' && host?.sme) return 'cortex-a72';
  if (accel === 'hvf' && guestArch === 'x86_64') return 'host,-pdpe1gb';
  if (accel === 'kvm' || accel === 'hvf') return 'host';
  if (accel === 'whpx') return guestArch === 'aarch64' ? 'host' : 'qemu64';
  return guestArch === 'x86_64' ? 'qemu64,+rdrand' : 'cortex-a57';
}
