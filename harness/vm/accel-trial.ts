import type { Accel, AccelChoice } from './accel.ts';

/**
 * How long a hardware-accelerated guest may stay silent on its serial console before its boot is abandoned.
 * Measured here (2 cores, QEMU 7.2, this image): under TCG, the slow case, the kernel's first console line
 * comes 0.6-0.8 s after spawn, and about 1.5 s with three boots sharing the cores; KVM and HVF run the same
 * code natively, faster still. A guest hung under nested KVM never prints. 3 s leaves twice the loaded TCG
 * figure as margin, and keeps the cost of a failed trial under the 4 s the fallback may add.
 */
export const SILENCE_BOUND_MS = 3000;

/**
 * How a hardware accelerator failed to run the guest: QEMU exited, the guest never printed, KVM stopped it
 * with an internal error, or it printed and then missed readiness (nested hypervisors on hosted runners:
 * WHPX on windows-2025, HVF on Intel macOS).
 */
export type AccelFailureKind = 'exited' | 'silent' | 'internal-error' | 'stalled';

export interface AccelFailure {
  accel: Accel;
  kind: AccelFailureKind;
  /** QEMU's own words where it said any, e.g. "QEMU aborted: failed to set MSR 0x10a to 0x69". */
  message: string;
  /**
   * The failure is the accelerator's beyond doubt: QEMU reported an internal error, or exited naming the
   * accelerator. A silent guest or an exit that names something else may be load or chance: it makes this
   * run fall back, but only a second one in a row settles the verdict (see nextVerdict).
   */
  certain: boolean;
}

/** QEMU's stderr names the accelerator (KVM, HVF, WHPX, an MSR or the hypervisor) as what failed. Pure. */
export const namesAccelerator = (stderr: string) => /kvm|hvf|whpx|\bHV_|\bMSR\b|hypervisor/i.test(stderr);

/** What is remembered of the trials of one accelerator on one host (the shape stored in the verdict file). */
export interface TrialRecord {
  ok: boolean;
  failure?: string;
  kind?: AccelFailureKind;
  /** Failed trials in a row (uncertain ones count; two settle it). */
  failures?: number;
  /** A failure is settled: runs go straight to TCG until `nslab doctor --recheck`. */
  settled?: boolean;
}

/** The record after a failed trial, from the one before it. Pure. */
export function nextVerdict(before: TrialRecord | undefined, failure: AccelFailure): TrialRecord {
  const failures = (before && !before.ok ? (before.failures ?? 1) : 0) + 1;
  return {
    ok: false,
    failure: failure.message,
    kind: failure.kind,
    failures,
    settled: failure.certain || failures >= 2,
  };
}

/** A remembered failure that sends runs straight to TCG: settled ones only. Pure. */
export const settledFailure = (v: TrialRecord | undefined) => v !== undefined && !v.ok && v.settled === true;

/**
 * QEMU's own reason from its stderr: the first line that says error (else the first line), without the
 * `qemu-system-x86_64: ` prefix and without the `error: ` label. Pure.
 */
export function qemuWords(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .filter((l) => !/^qemu-system-\S+: warning:/.test(l));
  const line = lines.find((l) => /error|internal|fail|abort|cannot|could not/i.test(l)) ?? lines[0] ?? '';
  return line.replace(/^qemu-system-[\w.-]+:\s*/, '').replace(/^error:\s*/i, '');
}

/** One line that says how the accelerator failed, in QEMU's words where it gave any. Pure. */
export function describeAccelFailure(
  kind: AccelFailureKind,
  facts: {
    exit?: { code: number | null; signal: string | null };
    stderr: string;
    silenceMs?: number;
    /** What readiness waited for when a guest stalled (e.g. "the console marker"). */
    waitingFor?: string;
  },
): string {
  const words = qemuWords(facts.stderr);
  if (kind === 'exited') {
    const how =
      facts.exit?.signal === 'SIGABRT'
        ? 'QEMU aborted'
        : facts.exit?.signal
          ? `QEMU was killed by ${facts.exit.signal}`
          : `QEMU exited with code ${facts.exit?.code ?? '?'}`;
    return words ? `${how}: ${words}` : how;
  }
  if (kind === 'internal-error')
    return `QEMU stopped the VM with an internal error${words ? `: ${words}` : ''}`;
  const secs = ((facts.silenceMs ?? SILENCE_BOUND_MS) / 1000).toFixed(0);
  if (kind === 'stalled')
    return `the guest printed, then was not ready within ${secs} s (${facts.waitingFor ?? 'readiness'}): it stalls under this accelerator${words ? `; QEMU said: ${words}` : ''}`;
  return `no console output within ${secs} s: the guest hangs under this accelerator${words ? `; QEMU said: ${words}` : ''}`;
}

/**
 * The accelerators to try for one boot, in order. Under `--accel auto` a hardware accelerator gets one trial
 * and TCG is the fallback; one whose failure here is settled is skipped; an explicit choice never falls
 * back. Pure.
 */
export function acceleratorPlan(chosen: Accel, requested: AccelChoice, remembered?: TrialRecord): Accel[] {
  if (chosen === 'tcg') return ['tcg'];
  if (requested !== 'auto') return [chosen];
  if (settledFailure(remembered)) return ['tcg'];
  return [chosen, 'tcg'];
}
