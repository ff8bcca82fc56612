import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import type { Arch } from '../image/arch.ts';
import { alive, sleep } from '../util/process.ts';
import type { Accel, HostCpu } from './accel.ts';
import {
  describeAccelFailure,
  namesAccelerator,
  qemuWords,
  SILENCE_BOUND_MS,
  type AccelFailureKind,
} from './accel-trial.ts';
import type { ConsoleLog } from './console-log.ts';
import { AcceleratorFailedError, BootError, InterruptedError } from './errors.ts';
import { disown, own } from './owned.ts';
import type { Mark } from './phases.ts';
import { freePort, takenPort } from './port.ts';
import { qemuArgv } from './qemu-argv.ts';
import { qmpStatus, type QmpAddress } from './qmp.ts';
import { bootInitrd, runFile, usesSecretsChannel, writeArgv } from './run-folder.ts';
import type { SecretsAddress } from './secrets-channel.ts';
import type { VmConfig } from './vm-config.ts';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
}

/** One QEMU process, spawned detached: it outlives this process when kept. */
export interface QemuHandle {
  readonly pid: number;
  readonly sshPort: number;
  readonly qmp: QmpAddress;
  /** Where the guest's keys are handed over; undefined for images that get them in their initrd. */
  readonly secrets?: SecretsAddress;
  readonly consoleLog: ConsoleLog;
  /** Settles when QEMU exits. */
  readonly exit: Promise<ExitInfo>;
  /** How QEMU exited, once it has; undefined while it runs. */
  exited(): ExitInfo | undefined;
  /** What QEMU said on stderr so far. */
  stderr(): Promise<string>;
}

/** One attempt's QEMU: which binary, under which accelerator, in which run folder, under which name. */
export interface LaunchInput {
  config: VmConfig;
  qemu: string;
  guestArch: Arch;
  accel: Accel;
  hostCpu?: HostCpu;
  dir: string;
  name: string;
  /** A trial of a hardware accelerator: fails fast with AcceleratorFailedError. */
  trial: boolean;
  consoleLog: ConsoleLog;
  mark: Mark;
  /** Start paused for a saved guest (QMP migrate-incoming) instead of booting the kernel. */
  incoming?: boolean;
  /** The saved guest, opened: handed to QEMU as its fd 3 (POSIX), read there without a shell and a pipe. */
  incomingFd?: number;
}

/** The QEMU command line of a boot in run folder `dir`: the one place that maps a VmConfig onto argv. */
export function qemuArgvFor(
  c: VmConfig,
  a: {
    guestArch: Arch;
    accel: Accel;
    hostCpu?: HostCpu;
    dir: string;
    name: string;
    sshPort: number;
    qmp: QmpAddress;
    secrets?: SecretsAddress;
    incoming?: boolean;
  },
): string[] {
  return qemuArgv({
    platform: c.platform.os,
    guestArch: a.guestArch,
    accel: a.accel,
    ...(a.hostCpu ? { hostCpu: a.hostCpu } : {}),
    kernel: c.image.bootKernel,
    initrd: bootInitrd(a.dir, c.image),
    cmdline: `${c.image.cmdline} ${c.extraCmdline}`.trim(),
    sshPort: a.sshPort,
    consoleLog: runFile(a.dir, 'console'),
    qmp: a.qmp,
    pidfile: runFile(a.dir, 'pid'),
    name: a.name,
    memoryMiB: c.memoryMiB,
    guestNetwork: c.guestNetwork,
    ...(a.secrets ? { secrets: a.secrets } : {}),
    ...(a.incoming ? { incoming: true } : {}),
  });
}

/** Where a channel image's keys go: like QMP, a socket in the run folder, or a TCP port on Windows. */
export async function secretsAddressFor(c: VmConfig, dir: string): Promise<SecretsAddress | undefined> {
  if (!usesSecretsChannel(c.image.manifest)) return undefined;
  return c.platform.control === 'tcp'
    ? { port: await freePort(), pskDir: dir }
    : { socket: runFile(dir, 'secretsSocket') };
}

/**
 * Windows: QMP on a TCP port of its own, picked anew at each attempt (it may be the one taken), with TLS
 * under the key in the run folder (writePskFile).
 */
export async function qmpAddressFor(c: VmConfig, dir: string): Promise<QmpAddress> {
  return c.platform.control === 'tcp'
    ? { port: await freePort(), pskDir: dir }
    : { socket: runFile(dir, 'qmpSocket') };
}

/**
 * Starts QEMU and watches it until the guest's first console byte: QEMU may still fail its set-up until
 * then. Another process may take a port between freePort() and QEMU's bind: then again on other ports, up
 * to three times. On failure QEMU is gone before this rejects.
 */
export async function launchQemu(i: LaunchInput): Promise<QemuHandle> {
  for (let attempt = 1; ; attempt++) {
    const sshPort =
      attempt === 1 && i.config.sshPort ? i.config.sshPort : await (i.config.pickPort ?? freePort)();
    const q = await spawnQemu(
      i,
      sshPort,
      await qmpAddressFor(i.config, i.dir),
      await secretsAddressFor(i.config, i.dir),
    );
    try {
      if (await startFailed(i, q, attempt)) continue;
      return q;
    } catch (error) {
      await killQemu(q.pid);
      throw error;
    }
  }
}

async function spawnQemu(
  i: LaunchInput,
  sshPort: number,
  qmp: QmpAddress,
  secrets: SecretsAddress | undefined,
): Promise<QemuHandle> {
  const argv = qemuArgvFor(i.config, { ...i, sshPort, qmp, secrets });
  await writeArgv(i.dir, [i.qemu, ...argv]);
  const stderrFile = runFile(i.dir, 'stderr');
  // Own process group and no pipes: QEMU neither keeps this process alive nor dies with its terminal.
  const common = { detached: true, reject: false, cleanup: false } as const;
  const child =
    i.incomingFd === undefined
      ? execa(i.qemu, argv, { ...common, stdio: ['ignore', 'ignore', { file: stderrFile }] })
      : // A restore: the saved guest, opened by the caller, becomes QEMU's fd 3. execa hands an integer
        // descriptor through to child_process.spawn; its types list that for fds 0-2 only, hence the cast.
        execa(i.qemu, argv, {
          ...common,
          stdio: ['ignore', 'ignore', { file: stderrFile }, i.incomingFd as unknown as 'inherit'],
        });
  child.unref();
  const pid = child.pid ?? 0;
  own(pid, i.dir);
  let exited: ExitInfo | undefined;
  const exit = child.then((r) => (exited = { code: r.exitCode ?? null, signal: r.signal ?? null }));
  i.mark('qemuSpawned');
  return {
    pid,
    sshPort,
    qmp,
    ...(secrets ? { secrets } : {}),
    consoleLog: i.consoleLog,
    exit,
    exited: () => exited,
    stderr: () => readFile(stderrFile, 'utf8').catch(() => ''),
  };
}

/**
 * Waits for the first console byte without a fixed delay, since the console is what readiness waits for
 * next anyway. A trial of a hardware accelerator gets a short bound: a guest that hangs there prints nothing
 * at all. True when a port was taken and the caller should spawn again; throws when QEMU failed otherwise.
 */
async function startFailed(i: LaunchInput, q: QemuHandle, attempt: number): Promise<boolean> {
  const { consoleLog, accel } = i;
  const spawnedAt = performance.now();
  const bound = i.trial ? SILENCE_BOUND_MS : 10_000;
  // A QEMU waiting for a saved guest prints nothing: it has started once QMP answers.
  const started = async () => (i.incoming ? (await qmpStatus(q.qmp)) !== undefined : consoleLog.bytes > 0);
  while (!q.exited() && !(await started()) && performance.now() - spawnedAt < bound) {
    if (i.config.signal?.aborted) throw new InterruptedError('boot (QEMU start)');
    await sleep(10);
    await consoleLog.poll();
  }
  const exited = q.exited();
  if (exited) {
    const err = await q.stderr();
    const taken = takenPort(err);
    if (taken) {
      if (attempt < 3) {
        const n = taken === 'ssh' ? q.sshPort : 'port' in q.qmp ? q.qmp.port : '?';
        i.config.log(
          `vm: port ${n} was taken (${taken === 'ssh' ? 'the SSH forward' : 'QMP'}); retrying on another`,
        );
        disown(q.pid);
        return true;
      }
      throw new BootError(
        `no free port for the ${taken === 'ssh' ? 'SSH forward' : 'QMP socket'} after 3 tries: ${qemuWords(err)}`,
        '',
      );
    }
    // A trial's exit is the accelerator's; an explicit one's only when QEMU names the accelerator.
    if (accel !== 'tcg' && (i.trial || namesAccelerator(err)))
      throw await acceleratorFailed(q, accel, 'exited');
    throw new BootError(
      `QEMU exited at once (${describeExit(exited)}): ${err.trim().split('\n').slice(-3).join(' / ')}`,
      consoleLog.tail(),
    );
  }
  if (i.trial && consoleLog.bytes === 0) {
    const status = await qmpStatus(q.qmp);
    throw await acceleratorFailed(q, accel, status === 'internal-error' ? 'internal-error' : 'silent', bound);
  }
  return false;
}

/** The accelerator's failure to run the guest, in words, from how QEMU exited and what it said. */
export async function acceleratorFailed(
  q: QemuHandle,
  accel: Accel,
  kind: AccelFailureKind,
  silenceMs?: number,
  waitingFor?: string,
): Promise<AcceleratorFailedError> {
  const stderr = await q.stderr();
  return new AcceleratorFailedError({
    accel,
    kind,
    message: describeAccelFailure(kind, { exit: q.exited(), stderr, silenceMs, waitingFor }),
    certain: kind === 'internal-error' || (kind === 'exited' && namesAccelerator(stderr)),
  });
}

/** A failed or interrupted boot: QEMU goes at once, and is really gone when this resolves. */
export async function killQemu(pid: number): Promise<void> {
  if (pid && alive(pid)) {
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(20);
  }
  disown(pid);
}

export function describeExit(e: ExitInfo): string {
  return e.signal ? `signal ${e.signal}` : `exit code ${e.code}`;
}
