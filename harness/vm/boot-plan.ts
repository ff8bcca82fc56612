import { EnvironmentError } from '../errors.ts';
import { hostArch as detectHostArch, type Arch } from '../image/arch.ts';
import { chooseAccelerator, type Accel, type AccelDecision, type HostCpu } from './accel.ts';
import { acceleratorPlan, settledFailure, type AccelFailure, type TrialRecord } from './accel-trial.ts';
import { lookUpVerdict, type Verdict, type VerdictKey } from './accel-verdict.ts';
import { probeAccelerators } from './probe-accel.ts';
import { checkQemuVersion, findQemu, parseQemuVersion, qemuVersionLine } from './qemu-binary.ts';
import type { VmConfig } from './vm-config.ts';

export interface BootPlan {
  qemu: string;
  guestArch: Arch;
  /** The host CPU facts the `-cpu` choice depends on (see cpuModel). */
  hostCpu: HostCpu;
  decision: AccelDecision;
  /** The accelerators to try, in order (see acceleratorPlan). */
  accels: Accel[];
  /** Where the trial's verdict is remembered (auto with a hardware accelerator only). */
  key?: VerdictKey;
  remembered?: Verdict;
  /** QEMU's --version line ('' if it gave none), for state.json: asked once, while the guest boots. */
  qemuVersion: Promise<string>;
}

/**
 * What a boot will do, decided before anything is spawned: the QEMU binary, the accelerator (from probes
 * and the remembered verdict), and the accelerators to try in order. Logs the one-line reasons.
 */
export async function planBoot(c: VmConfig): Promise<BootPlan> {
  const guestArch = c.image.manifest.arch as Arch;
  const qemu = await findQemu(guestArch, c.platform, c.qemu);
  const hostArch = detectHostArch();
  const probes = await probeAccelerators(c.platform, qemu, guestArch);
  const hostCpu: HostCpu = { arch: hostArch, ...(probes.sme !== undefined ? { sme: probes.sme } : {}) };
  const decision = chooseAccelerator({
    platform: c.platform,
    hostArch,
    guestArch,
    requested: c.accel,
    probes,
  });
  if ('error' in decision)
    throw new EnvironmentError(decision.error, 'use --accel auto to let nslab pick what works');
  // QEMU's version line, only where something needs it: the Apple Silicon and Windows minimums, the verdict's key.
  const remembers = decision.accel !== 'tcg' && c.accel === 'auto';
  const floor = (c.platform.os === 'darwin' && hostArch === 'aarch64') || c.platform.os === 'win32';
  const versionLine = remembers || floor ? await qemuVersionLine(qemu) : '';
  const versionProblem = floor && checkQemuVersion(parseQemuVersion(versionLine), c.platform, hostArch);
  if (versionProblem) throw new EnvironmentError(versionProblem);
  // A hardware accelerator is proven by a guest that boots, not by a device that opens: under auto it
  // gets one trial, remembered per host, and TCG takes over when it fails.
  const { key, verdict: remembered } = remembers
    ? await lookUpVerdict(c.verdicts, {
        accel: decision.accel,
        guestArch,
        qemu,
        qemuVersion: versionLine,
        platform: c.platform,
        hostCpu,
      })
    : {};
  if (remembered?.ok)
    c.log(`vm: ${decision.accel} works on this host (remembered from ${remembered.checkedAt})`);
  if (decision.accel === 'tcg')
    c.log(
      `vm: no hardware acceleration (${decision.reason}); TCG emulation is slow, expect seconds, not milliseconds`,
    );
  return {
    qemu,
    guestArch,
    hostCpu,
    decision,
    accels: acceleratorPlan(decision.accel, c.accel, remembered),
    key,
    remembered,
    qemuVersion: versionLine ? Promise.resolve(versionLine) : qemuVersionLine(qemu).catch(() => ''),
  };
}

/** A settled failure, said in one line; the reason the report will give. */
export function rememberedFailure(
  c: VmConfig,
  decision: AccelDecision,
  remembered: Verdict | undefined,
): { failed?: AccelFailure; reason: string } {
  if (!remembered || !settledFailure(remembered)) return { reason: decision.reason };
  const failed: AccelFailure = {
    accel: decision.accel,
    kind: remembered.kind ?? 'exited',
    message: remembered.failure ?? 'it failed',
    certain: true,
  };
  c.log(
    `vm: using tcg: ${decision.accel} failed on this host before (${failed.message}); \`nslab doctor --recheck\` tries it again`,
  );
  return {
    failed,
    reason: `${decision.accel} failed: ${failed.message} (remembered from ${remembered.checkedAt})`,
  };
}

/** Remembers a trial's outcome; a verdict that cannot be written costs a trial next time, never this boot. */
export async function remember(c: VmConfig, key: VerdictKey, record: TrialRecord): Promise<void> {
  try {
    await c.verdicts.record(key, record);
  } catch (error) {
    c.log(
      `vm: could not remember the accelerator verdict in ${c.verdicts.file}: ${(error as Error).message}`,
    );
  }
}
