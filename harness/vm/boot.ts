import { closeSync, openSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { EnvironmentError } from '../errors.ts';
import type { Arch } from '../image/arch.ts';
import { newBootSecrets, opensshPrivateKey } from '../image/secrets.ts';
import type { Accel, HostCpu } from './accel.ts';
import { nextVerdict, settledFailure, type AccelFailure } from './accel-trial.ts';
import { planBoot, remember, rememberedFailure } from './boot-plan.ts';
import { ConsoleLog } from './console-log.ts';
import { AcceleratorFailedError, InterruptedError } from './errors.ts';
import { killQemu, launchQemu, type QemuHandle } from './launch.ts';
import { disown } from './owned.ts';
import { phaseClock } from './phases.ts';
import {
  closeSessions,
  readinessChecks,
  secretsHandover,
  waitUntilReady,
  type ReadinessContext,
} from './readiness.ts';
import { createRunFolder, newVmId, runFile, runFolderPath, vmName, writeBootSecrets } from './run-folder.ts';
import { runtimeDir } from './runtime-dir.ts';
import { checkSocketRoom } from './socket-room.ts';
import { StartedVm } from './started-vm.ts';
import { cleanupStale, writeState, type VmState } from './state.ts';
import { defaultBootTimeoutMs, type VmConfig } from './vm-config.ts';
import type { Mark } from './phases.ts';
import { sendSecrets } from './secrets-channel.ts';
import { writePskFile } from './control-channel.ts';
import { loadSnapshot, migrationUris, saveSnapshot } from './snapshot.ts';
import { snapshotPlan, type SnapshotPlan } from './snapshot-plan.ts';
import type { BootKind } from './state.ts';

/** How long a restored guest may take to answer before it is abandoned for a cold boot. */
const RESTORE_BOUND_MS = (accel: Accel) => (accel === 'tcg' ? 20_000 : 10_000);

/** Boots: cleans up after dead runs, plans, then tries each planned accelerator until one boots. */
export async function bootVm(c: VmConfig): Promise<StartedVm> {
  const t0 = performance.now();
  const root = checkSocketRoom(c, runtimeDir());
  for (const s of await cleanupStale(root, c.log))
    c.log(`vm: stopped a QEMU left behind by an earlier run: ${s}`);
  const { qemu, guestArch, hostCpu, decision, accels: plan, key, remembered, ...p } = await planBoot(c);
  let { failed, reason } = rememberedFailure(c, decision, remembered);
  let failedAtMs: number | undefined;
  // A saved guest of the first planned accelerator: restored instead of booted when it loads.
  const first = await snapshotPlan(c, { qemu, guestArch, hostCpu, accel: plan[0]! });
  const common = { root, qemu, qemuVersion: p.qemuVersion, guestArch, hostCpu, t0 };
  if (first?.found) {
    const vm = await tryRestore(c, {
      ...common,
      accel: first.accel,
      reason,
      trial: false,
      failed,
      restore: first,
    });
    if (vm) return vm;
  }
  for (const accel of plan) {
    try {
      // A trial fails fast (console silence, QMP internal-error): only under auto, which can fall back.
      const trial = accel !== 'tcg' && c.accel === 'auto';
      const save =
        accel === first?.accel ? first : await snapshotPlan(c, { qemu, guestArch, hostCpu, accel });
      // After a failed trial, the fallback's own saved guest where there is one, as at the start.
      const restored =
        save?.found && save !== first
          ? await tryRestore(c, { ...common, accel, reason, trial: false, failed, failedAtMs, restore: save })
          : undefined;
      const vm =
        restored ??
        (await attempt(c, {
          ...{ ...common, accel, reason, trial, failed, failedAtMs },
          ...(save && !save.found ? { save } : {}),
          snapshotsOff: !save,
        }));
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

/** Restores a saved guest; undefined when it does not come up (said on the log, the snapshot removed). */
async function tryRestore(
  c: VmConfig,
  a: Attempt & { restore: SnapshotPlan },
): Promise<StartedVm | undefined> {
  try {
    return await attempt(c, a);
  } catch (error) {
    if (error instanceof InterruptedError) throw error;
    c.log(`vm: the saved guest did not come up (${(error as Error).message.split('\n')[0]}); booting cold`);
    await a.restore.store.remove(a.restore.key);
    delete a.restore.found;
    return undefined;
  }
}

interface Attempt {
  root: string;
  qemu: string;
  qemuVersion: Promise<string>;
  guestArch: Arch;
  hostCpu: HostCpu;
  accel: Accel;
  reason: string;
  t0: number;
  trial: boolean;
  failed?: AccelFailure;
  failedAtMs?: number;
  /** Load this saved guest instead of booting the kernel. */
  restore?: SnapshotPlan;
  /** Save the guest under this plan's key while it waits for its keys. */
  save?: SnapshotPlan;
  snapshotsOff?: boolean;
}

/** One boot under one accelerator. A trial (hardware accelerator) fails fast with AcceleratorFailedError. */
async function attempt(c: VmConfig, a: Attempt): Promise<StartedVm> {
  const id = newVmId();
  const name = vmName(id);
  const { phases, mark } = phaseClock({ t0: a.t0, name, failedAtMs: a.failedAtMs, log: c.log });
  const dir = runFolderPath(a.root, id);
  const secrets = newBootSecrets();
  const consoleLog = new ConsoleLog(runFile(dir, 'console'));
  // A restore gets a bound of its own: a saved guest that does not answer soon is booted cold instead.
  const timeout = a.restore ? RESTORE_BOUND_MS(a.accel) : (c.bootTimeoutMs ?? defaultBootTimeoutMs(a.accel));
  const started = performance.now();
  let qemu: QemuHandle | undefined;
  let ctx: ReadinessContext | undefined;
  try {
    // Inside the try: a failure while writing the per-boot keys removes them too.
    await createRunFolder(dir);
    const clientKeyFile = await writeBootSecrets(dir, c.image, secrets);
    if (c.platform.control === 'tcp') await writePskFile(dir); // the key of the TLS channels (Windows)
    qemu = await launchSaved(c, a, { dir, name, consoleLog, mark });
    const q = qemu;
    let boot: BootKind = a.restore
      ? await restoreInto(c, q, a.restore, { started, timeout, mark })
      : { mode: 'cold', snapshot: a.snapshotsOff ? 'off' : 'none' };
    // Readiness: the keys handed over, the console marker (or the SSH banner), an authenticated command.
    const handover = q.secrets
      ? secretsHandover(async () => {
          if (a.save) boot = await saveFor(c, q, a.save, mark);
          await sendSecrets(q.secrets!, secrets);
        }, !a.restore)
      : undefined;
    ctx = {
      consoleLog,
      sshPort: qemu.sshPort,
      privateKey: opensshPrivateKey(secrets.client),
      hostKeyBlob: secrets.host.publicBlob,
    };
    await waitUntilReady(readinessChecks(c.image.manifest, handover), ctx, {
      qemu,
      accel: a.accel,
      trial: a.trial,
      // Each attempt gets the whole timeout: a TCG fallback after a stalled trial must not inherit its spent time.
      deadline: started + timeout,
      timeoutMs: timeout,
      signal: c.signal,
      mark,
      restored: !!a.restore,
    });
    const state = stateOf(c, a, {
      id,
      qemu,
      clientKeyFile,
      hostKeyBlob: secrets.host.publicBlob.toString('base64'),
      phases,
      guestUname: ctx.uname ?? '',
      boot,
      qemuVersion: await a.qemuVersion,
    });
    await writeState(dir, state);
    if (c.keep) disown(qemu.pid);
    const how = boot.mode === 'restore' ? `, restored from a snapshot in ${boot.restoreMs} ms` : '';
    c.log(
      `vm: ${name} ready in ${(phases.firstCommand! / 1000).toFixed(2)} s (ssh on 127.0.0.1:${qemu.sshPort}, ${a.accel}${how})`,
    );
    return new StartedVm(dir, state, consoleLog, ctx.session);
  } catch (error) {
    // A failed or interrupted boot: QEMU goes at once, and boot() rejects only once it is really gone.
    closeSessions(ctx);
    await killQemu(qemu?.pid ?? 0);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Saves the guest that waits for its keys; a failure is a note on the log and in the report, never an error. */
async function saveFor(c: VmConfig, q: QemuHandle, plan: SnapshotPlan, mark: Mark): Promise<BootKind> {
  const r = await saveSnapshot({ qmp: q.qmp, ...plan, accel: plan.accel, platform: c.platform });
  if ('note' in r) {
    c.log(`vm: snapshot ${r.note}`);
    return { mode: 'cold', snapshot: 'failed', note: r.note };
  }
  mark('snapshotSaved');
  return { mode: 'cold', snapshot: 'saved' };
}

/** Loads the saved guest into a QEMU started with -incoming, and starts it. */
async function restoreInto(
  c: VmConfig,
  q: QemuHandle,
  plan: SnapshotPlan,
  t: { started: number; timeout: number; mark: Mark },
): Promise<BootKind> {
  await loadSnapshot({
    qmp: q.qmp,
    state: plan.found!.state,
    ...plan,
    platform: c.platform,
    timeoutMs: t.timeout,
  });
  t.mark('restored');
  return { mode: 'restore', restoreMs: Math.round(performance.now() - t.started) };
}

/** What state.json says about a VM that is ready. */
function stateOf(
  c: VmConfig,
  a: Attempt,
  v: Pick<VmState, 'id' | 'clientKeyFile' | 'hostKeyBlob' | 'phases' | 'guestUname' | 'boot'> & {
    qemu: QemuHandle;
    qemuVersion: string;
  },
): VmState {
  const { qemu, qemuVersion, ...rest } = v;
  const m = c.image.manifest;
  return {
    ...rest,
    name: vmName(v.id),
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
    ...(qemuVersion ? { qemuBinary: { path: a.qemu, version: qemuVersion } } : {}),
    image: { digest: m.digest, builder: m.builder, kernelVersion: m.kernelVersion },
    bootedAt: new Date().toISOString(),
    guestNetwork: c.guestNetwork,
  };
}

/**
 * Launches QEMU; for a restore by a QEMU before 8.2, with the saved guest opened here and inherited as the
 * fd that migrationUris names, so that QEMU reads the file itself: no shell, no `cat`, no pipe to copy
 * 100 MB through. Newer QEMUs open the file themselves (`file:`).
 */
async function launchSaved(
  c: VmConfig,
  a: Attempt,
  run: { dir: string; name: string; consoleLog: ConsoleLog; mark: Mark },
): Promise<QemuHandle> {
  const inherit = a.restore
    ? migrationUris(a.restore.found!.state, a.restore.version, c.platform)?.inheritFd
    : undefined;
  // launchQemu passes it as the fourth stdio entry, which is QEMU's fd 3 (SAVED_FD).
  const fd = inherit === undefined ? undefined : openSync(a.restore!.found!.state, 'r');
  try {
    return await launchQemu({ ...a, config: c, ...run, incoming: !!a.restore, incomingFd: fd });
  } finally {
    if (fd !== undefined) closeSync(fd); // QEMU has its own copy from the spawn
  }
}
