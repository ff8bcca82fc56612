import { rm } from 'node:fs/promises';
import { EnvironmentError } from '../errors.ts';
import type { Arch } from '../image/arch.ts';
import { newBootSecrets, opensshPrivateKey } from '../image/secrets.ts';
import type { Accel } from './accel.ts';
import { nextVerdict, settledFailure, type AccelFailure } from './accel-trial.ts';
import { planBoot, remember, rememberedFailure } from './boot-plan.ts';
import { ConsoleLog } from './console-log.ts';
import { AcceleratorFailedError } from './errors.ts';
import { killQemu, launchQemu, qemuArgvFor, qmpAddressFor, type QemuHandle } from './launch.ts';
import { disown } from './owned.ts';
import { phaseClock } from './phases.ts';
import { freePort } from './port.ts';
import { readinessChecks, waitUntilReady, type ReadinessContext } from './readiness.ts';
import { createRunFolder, newVmId, runFile, runFolderPath, vmName, writeBootSecrets } from './run-folder.ts';
import { runtimeDir } from './runtime-dir.ts';
import { StartedVm } from './started-vm.ts';
import { cleanupStale, writeState, type VmState } from './state.ts';
import { defaultBootTimeoutMs, type VmConfig } from './vm-config.ts';

/**
 * The exact command the next boot would run first (`--show-command`), without booting. Only the VM's id
 * (its name and run folder) and the SSH port are picked anew by each boot. With a fallback planned, the
 * TCG command too (a fallback boot also gets a new id).
 */
export async function showCommand(c: VmConfig): Promise<{ accel: Accel; argv: string[] }[]> {
  const { qemu, guestArch, decision, accels, remembered } = await planBoot(c);
  rememberedFailure(c, decision, remembered); // says so on the log, as a boot would
  const id = newVmId();
  const dir = runFolderPath(runtimeDir(), id);
  const sshPort = c.sshPort ?? (await freePort());
  const qmp = await qmpAddressFor(c, dir);
  return accels.map((accel) => ({
    accel,
    argv: [qemu, ...qemuArgvFor(c, { guestArch, accel, dir, name: vmName(id), sshPort, qmp })],
  }));
}

/** Boots: cleans up after dead runs, plans, then tries each planned accelerator until one boots. */
export async function bootVm(c: VmConfig): Promise<StartedVm> {
  const t0 = performance.now();
  const root = runtimeDir();
  for (const s of await cleanupStale(root, c.log))
    c.log(`vm: stopped a QEMU left behind by an earlier run: ${s}`);
  const { qemu, guestArch, decision, accels: plan, key, remembered } = await planBoot(c);
  let { failed, reason } = rememberedFailure(c, decision, remembered);
  let failedAtMs: number | undefined;
  for (const accel of plan) {
    try {
      // A trial fails fast (console silence, QMP internal-error): only under auto, which can fall back.
      const trial = accel !== 'tcg' && c.accel === 'auto';
      const vm = await attempt(c, { root, qemu, guestArch, accel, reason, t0, trial, failed, failedAtMs });
      if (key && accel !== 'tcg' && !remembered?.ok) await remember(c, key, { ok: true });
      // A failure is remembered once TCG has booted the same image (so the image was not the cause), and
      // settles only when it was certain or came twice in a row (see nextVerdict).
      if (key && accel === 'tcg' && failed && !settledFailure(remembered))
        await remember(c, key, nextVerdict(remembered, failed));
      return vm;
    } catch (error) {
      if (!(error instanceof AcceleratorFailedError)) throw error;
      if (c.accel !== 'auto')
        throw new EnvironmentError(
          `--accel ${accel} does not work here: ${error.failure.message}`,
          'use --accel tcg (software emulation), or --accel auto to fall back to it by itself',
          error,
        );
      failed = error.failure;
      failedAtMs = Math.round(performance.now() - t0);
      reason = `${accel} failed: ${failed.message}`;
      c.log(`vm: ${accel} failed: ${failed.message}; booting again under tcg`);
    }
  }
  throw new Error('unreachable: the accelerator plan always ends in a boot or an error');
}

interface Attempt {
  root: string;
  qemu: string;
  guestArch: Arch;
  accel: Accel;
  reason: string;
  t0: number;
  trial: boolean;
  failed?: AccelFailure;
  failedAtMs?: number;
}

/** One boot under one accelerator. A trial (hardware accelerator) fails fast with AcceleratorFailedError. */
async function attempt(c: VmConfig, a: Attempt): Promise<StartedVm> {
  const id = newVmId();
  const name = vmName(id);
  const { phases, mark } = phaseClock({ t0: a.t0, name, failedAtMs: a.failedAtMs, log: c.log });
  const dir = runFolderPath(a.root, id);
  const secrets = newBootSecrets();
  const consoleLog = new ConsoleLog(runFile(dir, 'console'));
  const timeout = c.bootTimeoutMs ?? defaultBootTimeoutMs(a.accel);
  let qemu: QemuHandle | undefined;
  try {
    // Inside the try: a failure while writing the per-boot keys removes them too.
    await createRunFolder(dir);
    const clientKeyFile = await writeBootSecrets(dir, c.image.initrd, secrets);
    qemu = await launchQemu({ ...a, config: c, dir, name, consoleLog, mark });
    // Readiness: the image's console marker, then the SSH banner, then an authenticated command.
    const ctx: ReadinessContext = {
      consoleLog,
      sshPort: qemu.sshPort,
      privateKey: opensshPrivateKey(secrets.client),
      hostKeyBlob: secrets.host.publicBlob,
    };
    await waitUntilReady(readinessChecks(c.image.manifest), ctx, {
      qemu,
      accel: a.accel,
      trial: a.trial,
      deadline: a.t0 + timeout,
      timeoutMs: timeout,
      signal: c.signal,
      mark,
    });
    const state: VmState = {
      id,
      name,
      pid: qemu.pid,
      ownerPid: process.pid,
      keep: c.keep,
      sshPort: qemu.sshPort,
      qmp: qemu.qmp,
      accel: a.accel,
      accelReason: a.reason,
      ...(a.failed ? { accelFailed: { accel: a.failed.accel, message: a.failed.message } } : {}),
      arch: a.guestArch,
      imageDir: c.image.dir,
      clientKeyFile,
      hostKeyBlob: secrets.host.publicBlob.toString('base64'),
      bootedAt: new Date().toISOString(),
      phases,
      guestUname: ctx.uname ?? '',
    };
    await writeState(dir, state);
    if (c.keep) disown(qemu.pid);
    c.log(
      `vm: ${name} ready in ${(phases.firstCommand! / 1000).toFixed(2)} s (ssh on 127.0.0.1:${qemu.sshPort}, ${a.accel})`,
    );
    return new StartedVm(dir, state, consoleLog, ctx.session);
  } catch (error) {
    // A failed or interrupted boot: QEMU goes at once, and boot() rejects only once it is really gone.
    await killQemu(qemu?.pid ?? 0);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
