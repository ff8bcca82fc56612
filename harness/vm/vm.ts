import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { EnvironmentError, ExitCode, NslabError } from '../errors.ts';
import { hostArch as detectHostArch, type Arch } from '../image/arch.ts';
import { hostPlatform, type Platform } from '../platform/index.ts';
import type { BuiltImage } from '../image/manifest.ts';
import { newBootSecrets, opensshPrivateKey, secretsOverlay } from '../image/secrets.ts';
import { SshSession, type ExecResult } from '../ssh/index.ts';
import { chooseAccelerator, type Accel, type AccelChoice, type AccelDecision } from './accel.ts';
import {
  acceleratorPlan,
  describeAccelFailure,
  namesAccelerator,
  qemuWords,
  nextVerdict,
  settledFailure,
  SILENCE_BOUND_MS,
  type AccelFailure,
  type AccelFailureKind,
  type TrialRecord,
} from './accel-trial.ts';
import { AccelVerdicts, lookUpVerdict, type Verdict, type VerdictKey } from './accel-verdict.ts';
import { ConsoleLog } from './console-log.ts';
import { probeAccelerators } from './probe-accel.ts';
import { freePort, takenPort } from './port.ts';
import { qemuArgv } from './qemu-argv.ts';
import { checkQemuVersion, findQemu, parseQemuVersion, qemuVersionLine } from './qemu-binary.ts';
import { qmpCommand, type QmpAddress } from './qmp.ts';
import { treeKill } from '../platform/tree-kill.ts';
import { sleep } from '../util/process.ts';
import { runtimeDir } from './runtime-dir.ts';
import { alive, cleanupStale, isOurQemu, runningState, writeState, type VmState } from './state.ts';

/** Why a boot failed, with the last console lines: what a user needs to see first. */
export class BootError extends NslabError {
  readonly consoleTail: string;
  constructor(message: string, consoleTail: string, exitCode: number = ExitCode.failed) {
    super(`${message}${consoleTail ? `\n--- last console lines ---\n${consoleTail}` : ''}`, { exitCode });
    this.consoleTail = consoleTail;
  }
}

export class InterruptedError extends NslabError {
  constructor(what: string) {
    super(`interrupted during ${what}`, { exitCode: ExitCode.interrupted });
  }
}

/** What each boot phase means, for the progress lines. */
const PHASE_TEXT: Record<string, string> = {
  accelFailed: 'hardware accelerator abandoned',
  qemuSpawned: 'QEMU started',
  firstConsoleByte: 'firmware done, kernel booting',
  kernelToInit: 'kernel done, /init running',
  guestReady: 'guest ready',
  sshBanner: 'SSH server answering',
  firstCommand: 'logged in',
};

/** Generous under TCG, tight with a hardware accelerator; --boot-timeout overrides. */
export const defaultBootTimeoutMs = (accel: Accel) => (accel === 'tcg' ? 120_000 : 30_000);

/** VMs this process started and must not leave behind, even on a crash. */
const owned = new Map<number, string>();
process.on('exit', () => {
  for (const [pid, dir] of owned) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Boots the image with QEMU, in the builder style of testcontainers: configure, then one terminal `boot()`.
 *   await using vm = await new VmBuilder(image).withAccel('tcg').boot();
 *   await vm.exec('uname -a');
 */
export class VmBuilder {
  private readonly image: BuiltImage;
  private qemu?: string;
  private accel: AccelChoice = 'auto';
  private keep = false;
  private memoryMiB = 512;
  private bootTimeoutMs?: number;
  private extraCmdline = '';
  private log: (line: string) => void = () => {};
  private signal?: AbortSignal;
  private sshPort?: number;
  private platform: Platform = hostPlatform;
  private verdicts = new AccelVerdicts();

  constructor(image: BuiltImage) {
    this.image = image;
  }
  withQemu(path: string | undefined): this {
    this.qemu = path;
    return this;
  }
  withAccel(accel: AccelChoice): this {
    this.accel = accel;
    return this;
  }
  withKeep(keep: boolean): this {
    this.keep = keep;
    return this;
  }
  withMemory(mib: number): this {
    this.memoryMiB = mib;
    return this;
  }
  withBootTimeout(ms: number | undefined): this {
    this.bootTimeoutMs = ms;
    return this;
  }
  /** Appended to the image's kernel command line (tests use it to make a guest panic). */
  withExtraCmdline(text: string): this {
    this.extraCmdline = text;
    return this;
  }
  /** Ask for this host port first (tests use it to check the retry on a taken port). */
  withSshPort(port: number): this {
    this.sshPort = port;
    return this;
  }
  withLog(log: (line: string) => void): this {
    this.log = log;
    return this;
  }
  withSignal(signal: AbortSignal | undefined): this {
    this.signal = signal;
    return this;
  }

  /** Where remembered accelerator verdicts are kept (default: the user's state folder; tests use their own). */
  withVerdicts(verdicts: AccelVerdicts): this {
    this.verdicts = verdicts;
    return this;
  }

  /**
   * What a boot will do, decided before anything is spawned: the QEMU binary, the accelerator (from probes
   * and the remembered verdict), and the accelerators to try in order. Logs the one-line reasons.
   */
  private async planBoot(): Promise<BootPlan> {
    const guestArch = this.image.manifest.arch as Arch;
    const qemu = await findQemu(guestArch, this.platform, this.qemu);
    const hostArch = detectHostArch();
    const decision = chooseAccelerator({
      platform: this.platform,
      hostArch,
      guestArch,
      requested: this.accel,
      probes: await probeAccelerators(this.platform, qemu, guestArch),
    });
    if ('error' in decision)
      throw new EnvironmentError(decision.error, 'use --accel auto to let nslab pick what works');
    // QEMU's version line, only where something needs it: the Apple Silicon minimum, the verdict's key.
    const remembers = decision.accel !== 'tcg' && this.accel === 'auto';
    const appleSilicon = this.platform.os === 'darwin' && hostArch === 'aarch64';
    const versionLine = remembers || appleSilicon ? await qemuVersionLine(qemu) : '';
    const versionProblem =
      appleSilicon && checkQemuVersion(parseQemuVersion(versionLine), this.platform, hostArch);
    if (versionProblem) throw new EnvironmentError(versionProblem);
    // A hardware accelerator is proven by a guest that boots, not by a device that opens: under auto it
    // gets one trial, remembered per host, and TCG takes over when it fails.
    const { key, verdict: remembered } = remembers
      ? await lookUpVerdict(this.verdicts, {
          accel: decision.accel,
          guestArch,
          qemu,
          qemuVersion: versionLine,
          platform: this.platform,
        })
      : {};
    if (remembered?.ok)
      this.log(`vm: ${decision.accel} works on this host (remembered from ${remembered.checkedAt})`);
    if (decision.accel === 'tcg')
      this.log(
        `vm: no hardware acceleration (${decision.reason}); TCG emulation is slow, expect seconds, not milliseconds`,
      );
    return {
      qemu,
      guestArch,
      decision,
      accels: acceleratorPlan(decision.accel, this.accel, remembered),
      key,
      remembered,
    };
  }

  /** A settled failure, said in one line; the reason the report will give. */
  private rememberedFailure(
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
    this.log(
      `vm: using tcg: ${decision.accel} failed on this host before (${failed.message}); \`nslab doctor --recheck\` tries it again`,
    );
    return {
      failed,
      reason: `${decision.accel} failed: ${failed.message} (remembered from ${remembered.checkedAt})`,
    };
  }

  /** Remembers a trial's outcome; a verdict that cannot be written costs a trial next time, never this boot. */
  private async remember(key: VerdictKey, record: TrialRecord): Promise<void> {
    try {
      await this.verdicts.record(key, record);
    } catch (error) {
      this.log(
        `vm: could not remember the accelerator verdict in ${this.verdicts.file}: ${(error as Error).message}`,
      );
    }
  }

  /** The QEMU command line of a boot in run folder `dir`: the one place that maps this builder onto argv. */
  private argvFor(a: {
    guestArch: Arch;
    accel: Accel;
    dir: string;
    name: string;
    sshPort: number;
    qmp: QmpAddress;
  }) {
    return qemuArgv({
      platform: this.platform.os,
      guestArch: a.guestArch,
      accel: a.accel,
      kernel: this.image.bootKernel,
      initrd: join(a.dir, 'initrd.img'),
      cmdline: `${this.image.cmdline} ${this.extraCmdline}`.trim(),
      sshPort: a.sshPort,
      consoleLog: join(a.dir, 'console.log'),
      qmp: a.qmp,
      pidfile: join(a.dir, 'qemu.pid'),
      name: a.name,
      memoryMiB: this.memoryMiB,
    });
  }

  /**
   * The exact command the next boot would run first (`--show-command`), without booting. Only the VM's id
   * (its name and run folder) and the SSH port are picked anew by each boot. With a fallback planned, the
   * TCG command too (a fallback boot also gets a new id).
   */
  async showCommand(): Promise<{ accel: Accel; argv: string[] }[]> {
    const { qemu, guestArch, decision, accels, remembered } = await this.planBoot();
    this.rememberedFailure(decision, remembered); // says so on the log, as a boot would
    const id = randomBytes(4).toString('hex');
    const dir = join(runtimeDir(), `vm-${id}`);
    const sshPort = this.sshPort ?? (await freePort());
    const qmp: QmpAddress =
      this.platform.control === 'tcp' ? { port: await freePort() } : { socket: join(dir, 'qmp.sock') };
    return accels.map((accel) => ({
      accel,
      argv: [qemu, ...this.argvFor({ guestArch, accel, dir, name: `nslab-${id}`, sshPort, qmp })],
    }));
  }

  async boot(): Promise<StartedVm> {
    const t0 = performance.now();
    const root = runtimeDir();
    for (const c of await cleanupStale(root, this.log))
      this.log(`vm: stopped a QEMU left behind by an earlier run: ${c}`);
    const { qemu, guestArch, decision, accels: plan, key, remembered } = await this.planBoot();
    let { failed, reason } = this.rememberedFailure(decision, remembered);
    let failedAtMs: number | undefined;
    for (const accel of plan) {
      try {
        // A trial fails fast (console silence, QMP internal-error): only under auto, which can fall back.
        const trial = accel !== 'tcg' && this.accel === 'auto';
        const vm = await this.attempt({
          root,
          qemu,
          guestArch,
          accel,
          reason,
          t0,
          trial,
          failed,
          failedAtMs,
        });
        if (key && accel !== 'tcg' && !remembered?.ok) await this.remember(key, { ok: true });
        // A failure is remembered once TCG has booted the same image (so the image was not the cause), and
        // settles only when it was certain or came twice in a row (see nextVerdict).
        if (key && accel === 'tcg' && failed && !settledFailure(remembered))
          await this.remember(key, nextVerdict(remembered, failed));
        return vm;
      } catch (error) {
        if (!(error instanceof AcceleratorFailedError)) throw error;
        if (this.accel !== 'auto')
          throw new EnvironmentError(
            `--accel ${accel} does not work here: ${error.failure.message}`,
            'use --accel tcg (software emulation), or --accel auto to fall back to it by itself',
            error,
          );
        failed = error.failure;
        failedAtMs = Math.round(performance.now() - t0);
        reason = `${accel} failed: ${failed.message}`;
        this.log(`vm: ${accel} failed: ${failed.message}; booting again under tcg`);
      }
    }
    throw new Error('unreachable: the accelerator plan always ends in a boot or an error');
  }

  /** One boot under one accelerator. A trial (hardware accelerator) fails fast with AcceleratorFailedError. */
  private async attempt(a: {
    root: string;
    qemu: string;
    guestArch: Arch;
    accel: Accel;
    reason: string;
    t0: number;
    trial: boolean;
    failed?: AccelFailure;
    failedAtMs?: number;
  }): Promise<StartedVm> {
    const { qemu, guestArch, accel, t0 } = a;
    // After a failed trial the timeline starts with it: every phase counts from the start of boot().
    const phases: Record<string, number> = a.failedAtMs === undefined ? {} : { accelFailed: a.failedAtMs };
    const id = randomBytes(4).toString('hex');
    const name = `nslab-${id}`;
    // Progress: one plain line per boot phase as it happens, fine on a terminal and in CI logs alike.
    const mark = (phase: string) => {
      if (phases[phase] !== undefined) return;
      phases[phase] = Math.round(performance.now() - t0);
      const what = phase === 'qemuSpawned' ? `QEMU started as ${name}` : (PHASE_TEXT[phase] ?? phase);
      if (phase !== 'firstCommand') this.log(`vm: ${what} (${(phases[phase] / 1000).toFixed(2)} s)`);
    };
    const dir = join(a.root, `vm-${id}`);
    const bootInitrd = join(dir, 'initrd.img');
    const clientKeyFile = join(dir, 'client_key');
    const secrets = newBootSecrets();
    const consoleLog = new ConsoleLog(join(dir, 'console.log'));
    const timeout = this.bootTimeoutMs ?? defaultBootTimeoutMs(accel);
    const stderrFile = join(dir, 'qemu.err');
    const qemuStderr = () => readFile(stderrFile, 'utf8').catch(() => '');

    let pid = 0;
    let sshPort = 0;
    let qmp: QmpAddress = { socket: join(dir, 'qmp.sock') };
    let exited: { code: number | null; signal: string | null } | undefined;
    // A failed or interrupted boot: QEMU goes at once, and boot() rejects only once it is really gone.
    const stopNow = async () => {
      if (pid && alive(pid)) {
        process.kill(pid, 'SIGKILL');
        for (let i = 0; i < 100 && alive(pid); i++) await sleep(20);
      }
      owned.delete(pid);
      await rm(dir, { recursive: true, force: true });
    };
    const accelFailed = async (kind: AccelFailureKind, silenceMs?: number) => {
      const stderr = await qemuStderr();
      return new AcceleratorFailedError({
        accel,
        kind,
        message: describeAccelFailure(kind, { exit: exited, stderr, silenceMs }),
        certain: kind === 'internal-error' || (kind === 'exited' && namesAccelerator(stderr)),
      });
    };
    try {
      // Inside the try: a failure while writing the per-boot keys removes them too.
      await mkdir(dir, { mode: 0o700 });
      await writeFile(join(dir, 'owner'), String(process.pid), { mode: 0o600 });
      await writeFile(
        bootInitrd,
        Buffer.concat([await readFile(this.image.initrd), secretsOverlay(secrets)]),
        {
          mode: 0o600,
        },
      );
      await writeFile(clientKeyFile, opensshPrivateKey(secrets.client), { mode: 0o600 });
      for (let attempt = 1; ; attempt++) {
        sshPort = attempt === 1 && this.sshPort ? this.sshPort : await freePort();
        // Windows: QMP on a TCP port of its own, picked anew at each attempt (it may be the one taken).
        if (this.platform.control === 'tcp') qmp = { port: await freePort() };
        const argv = this.argvFor({ guestArch, accel, dir, name, sshPort, qmp });
        await writeFile(join(dir, 'qemu.argv.json'), JSON.stringify([qemu, ...argv]));
        exited = undefined;
        // Own process group and no pipes: QEMU neither keeps this process alive nor dies with its terminal.
        const child = execa(qemu, argv, {
          detached: true,
          stdin: 'ignore',
          stdout: 'ignore',
          stderr: { file: stderrFile },
          reject: false,
          cleanup: false,
        });
        child.unref();
        pid = child.pid ?? 0;
        owned.set(pid, dir);
        void child.then((r) => (exited = { code: r.exitCode ?? null, signal: r.signal ?? null }));
        mark('qemuSpawned');
        // Until the first console byte QEMU may still fail its set-up (a taken port among others): watch
        // for that without a fixed delay, since the console is what we wait for next anyway. A trial of a
        // hardware accelerator gets a short bound: a guest that hangs there prints nothing at all.
        const spawnedAt = performance.now();
        const bound = a.trial ? SILENCE_BOUND_MS : 10_000;
        while (!exited && consoleLog.bytes === 0 && performance.now() - spawnedAt < bound) {
          if (this.signal?.aborted) throw new InterruptedError('boot (QEMU start)');
          await sleep(10);
          await consoleLog.poll();
        }
        if (exited) {
          const err = await qemuStderr();
          const taken = takenPort(err);
          if (taken) {
            if (attempt < 3) {
              const n = taken === 'ssh' ? sshPort : 'port' in qmp ? qmp.port : '?';
              this.log(
                `vm: port ${n} was taken (${taken === 'ssh' ? 'the SSH forward' : 'QMP'}); retrying on another`,
              );
              owned.delete(pid);
              continue;
            }
            throw new BootError(
              `no free port for the ${taken === 'ssh' ? 'SSH forward' : 'QMP socket'} after 3 tries: ${qemuWords(err)}`,
              '',
            );
          }
          // A trial's exit is the accelerator's; an explicit one's only when QEMU names the accelerator.
          if (accel !== 'tcg' && (a.trial || namesAccelerator(err))) throw await accelFailed('exited');
          throw new BootError(
            `QEMU exited at once (${describeExit(exited)}): ${err.trim().split('\n').slice(-3).join(' / ')}`,
            consoleLog.tail(),
          );
        }
        if (a.trial && consoleLog.bytes === 0) {
          const status = await qmpStatus(qmp);
          throw await accelFailed(status === 'internal-error' ? 'internal-error' : 'silent', bound);
        }
        break;
      }

      // Readiness: a console marker, then the SSH banner, then an authenticated command. Every wait
      // checks that QEMU is alive and that the console shows no panic, so a dead boot fails at once.
      const deadline = t0 + timeout;
      let statusCheckedAt = performance.now();
      const waitFor = async (what: string, done: () => boolean | Promise<boolean>) => {
        for (;;) {
          if (this.signal?.aborted) throw new InterruptedError(`boot (${what})`);
          const fresh = await consoleLog.poll();
          if (consoleLog.bytes > 0) mark('firstConsoleByte');
          for (const line of fresh) {
            if (/Run \/init as init process|nslab: init/.test(line)) mark('kernelToInit');
            if (/Kernel panic - not syncing/.test(line)) {
              await sleep(100);
              await consoleLog.poll();
              throw new BootError(`the guest kernel panicked while waiting for ${what}`, consoleLog.tail());
            }
          }
          if (exited || !alive(pid))
            throw new BootError(
              `QEMU exited (${exited ? describeExit(exited) : 'gone'}) while waiting for ${what}`,
              consoleLog.tail(),
            );
          // KVM stops a guest it cannot run with an internal error (QEMU pauses it and says so on stderr).
          if (a.trial && performance.now() - statusCheckedAt > 500) {
            statusCheckedAt = performance.now();
            if ((await qmpStatus(qmp)) === 'internal-error') throw await accelFailed('internal-error');
          }
          if (await done()) return;
          if (performance.now() > deadline) {
            // Not one byte from a hardware-accelerated guest in the whole timeout: the accelerator's doing.
            if (accel !== 'tcg' && consoleLog.bytes === 0) throw await accelFailed('silent', timeout);
            throw new BootError(
              `no ${what} within ${Math.round(timeout / 1000)} s (accelerator ${accel}; raise it with --boot-timeout)`,
              consoleLog.tail(),
            );
          }
          await sleep(20);
        }
      };
      if (this.image.manifest.builder === 'debian') {
        await waitFor('"nslab: ready" on the console', () =>
          consoleLog.lines.some((l) => l.includes('nslab: ready')),
        );
        mark('guestReady');
      }
      await waitFor('the SSH banner', () => sshBanner(sshPort));
      mark('sshBanner');
      let session: SshSession | undefined;
      let uname = '';
      await waitFor('an SSH login', async () => {
        try {
          session = await SshSession.connect({
            host: '127.0.0.1',
            port: sshPort,
            username: 'root',
            privateKey: opensshPrivateKey(secrets.client),
            hostKeyBlob: secrets.host.publicBlob,
          });
          uname = (await session.run('uname -a')).stdout.trim();
          return true;
        } catch (error) {
          session?.close();
          if ((error as Error).name === 'HostKeyMismatchError') throw error;
          return false;
        }
      });
      mark('firstCommand');
      const state: VmState = {
        id,
        name,
        pid,
        ownerPid: process.pid,
        keep: this.keep,
        sshPort,
        qmp,
        accel,
        accelReason: a.reason,
        ...(a.failed ? { accelFailed: { accel: a.failed.accel, message: a.failed.message } } : {}),
        arch: guestArch,
        imageDir: this.image.dir,
        clientKeyFile,
        hostKeyBlob: secrets.host.publicBlob.toString('base64'),
        bootedAt: new Date().toISOString(),
        phases,
        guestUname: uname,
      };
      await writeState(dir, state);
      if (this.keep) owned.delete(pid);
      this.log(
        `vm: ${name} ready in ${(phases.firstCommand! / 1000).toFixed(2)} s (ssh on 127.0.0.1:${sshPort}, ${accel})`,
      );
      return new StartedVm(dir, state, consoleLog, session);
    } catch (error) {
      await stopNow();
      throw error;
    }
  }
}

interface BootPlan {
  qemu: string;
  guestArch: Arch;
  decision: AccelDecision;
  /** The accelerators to try, in order (see acceleratorPlan). */
  accels: Accel[];
  /** Where the trial's verdict is remembered (auto with a hardware accelerator only). */
  key?: VerdictKey;
  remembered?: Verdict;
}

/** A hardware accelerator could not run the guest; under `--accel auto` the boot goes on under TCG. */
export class AcceleratorFailedError extends NslabError {
  readonly failure: AccelFailure;
  constructor(failure: AccelFailure) {
    super(`${failure.accel} failed: ${failure.message}`, { exitCode: ExitCode.environment });
    this.failure = failure;
  }
}

/** The VM's run state over QMP (`running`, `internal-error`, ...), or undefined when QMP does not answer. */
async function qmpStatus(qmp: QmpAddress): Promise<string | undefined> {
  try {
    return ((await qmpCommand(qmp, 'query-status', 1000)) as { status?: string }).status;
  } catch {
    return undefined;
  }
}

function describeExit(e: { code: number | null; signal: string | null }): string {
  return e.signal ? `signal ${e.signal}` : `exit code ${e.code}`;
}

/** True once the forwarded port answers with an SSH banner (slirp accepts before the guest listens). */
function sshBanner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('data', (d) => done(d.toString('latin1').startsWith('SSH-2.0-')));
    sock.once('error', () => done(false));
    sock.once('close', () => done(false));
  });
}

/** A running VM: run commands over SSH, read its console, stop it (idempotent; `await using` stops it too). */
export class StartedVm {
  readonly dir: string;
  readonly state: VmState;
  private readonly consoleLog: ConsoleLog;
  /** Open SSH connections not in use (the one from the boot's readiness check among them). */
  private readonly idle: SshSession[] = [];
  private stopped = false;

  constructor(dir: string, state: VmState, consoleLog: ConsoleLog, session?: SshSession) {
    this.dir = dir;
    this.state = state;
    this.consoleLog = consoleLog;
    if (session) this.idle.push(session);
  }

  /** Reattaches to a VM another nslab process booted with keep (nslab vm up). */
  static async attach(dir: string): Promise<StartedVm | undefined> {
    const state = await runningState(dir);
    if (!state) return undefined;
    return new StartedVm(dir, state, new ConsoleLog(join(dir, 'console.log')));
  }

  get pid(): number {
    return this.state.pid;
  }
  get sshPort(): number {
    return this.state.sshPort;
  }
  get phases(): Record<string, number> {
    return this.state.phases;
  }

  /** An idle SSH connection, or a new one: each command in flight has a connection of its own. */
  private async ssh(): Promise<SshSession> {
    const idle = this.idle.pop();
    if (idle) return idle;
    try {
      return await SshSession.connect({
        host: '127.0.0.1',
        port: this.state.sshPort,
        username: 'root',
        privateKey: await readFile(this.state.clientKeyFile, 'utf8'),
        hostKeyBlob: Buffer.from(this.state.hostKeyBlob, 'base64'),
      });
    } catch (error) {
      if (error instanceof NslabError) throw error;
      throw new NslabError(
        `ssh: cannot reach the guest's SSH server on 127.0.0.1:${this.state.sshPort} (${(error as Error).message}); the VM is running but its SSH server is not answering`,
        { exitCode: ExitCode.failed, cause: error },
      );
    }
  }

  /**
   * Runs a command string in the guest's shell; the caller quotes (see util/shell-quote). Commands may run
   * at once: each takes a connection of its own (several channels on one dropbear connection lost an exit
   * status now and then), and gives it back for the next.
   */
  async exec(command: string, options: { input?: string; signal?: AbortSignal } = {}): Promise<ExecResult> {
    const what = `\`${command.slice(0, 80)}\``;
    for (let attempt = 0; ; attempt++) {
      if (!alive(this.state.pid))
        throw new BootError(`the VM ${this.state.name} is not running (QEMU is gone)`, await this.console());
      const reused = this.idle.length > 0;
      let session: SshSession | undefined;
      try {
        session = await this.ssh();
        const r = await session.exec(command, options);
        if (r.code === null && !r.signal && !options.signal?.aborted) {
          // The channel closed without an exit status: the connection or the VM went away under it.
          await new Promise((res) => setTimeout(res, 100));
          if (!alive(this.state.pid))
            throw new BootError(`QEMU exited while running ${what}`, await this.console());
          throw new NslabError(`ssh: the connection to the guest was lost while running ${what}`, {
            exitCode: ExitCode.failed,
          });
        }
        if (this.stopped) session.close();
        else this.idle.push(session);
        return r;
      } catch (error) {
        session?.close();
        if (!alive(this.state.pid))
          throw new BootError(`QEMU exited while running ${what}`, await this.console());
        // A kept connection may have gone stale: once more on a fresh one before giving up.
        if (reused && attempt === 0 && !(error instanceof NslabError)) continue;
        throw error;
      }
    }
  }

  async shell(): Promise<number> {
    const session = await this.ssh();
    try {
      return await session.shell();
    } finally {
      session.close();
    }
  }

  /** The last console lines. */
  async console(lines = 20): Promise<string> {
    await this.consoleLog.poll();
    return this.consoleLog.tail(lines);
  }

  /**
   * Stops the VM: QMP quit, then SIGTERM, then SIGKILL, each with a bound; then removes the run folder and
   * its keys. A clean stop first asks the guest to power off (its `poweroff` over SSH, else an ACPI
   * power-down) and gives it 15 s. Safe to call twice.
   */
  async stop(options: { clean?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    if (options.clean && alive(this.state.pid)) {
      // The guest's own poweroff: /init syncs and powers off (the image has no ACPI button handler).
      await this.exec('poweroff', { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
    }
    this.stopped = true;
    this.closeIdle();
    const { pid, qmp } = this.state;
    const gone = async (ms: number) => {
      const until = performance.now() + ms;
      while (alive(pid) && performance.now() < until) await sleep(20);
      return !alive(pid);
    };
    try {
      if (isOurQemu(pid, this.state.name)) {
        for (const step of hostPlatform.stopPlan(options.clean ?? false)) {
          try {
            if (step.do === 'qmp') await qmpCommand(qmp, step.command, 2000);
            else if (step.do === 'tree-kill') await treeKill(hostPlatform, pid);
            else process.kill(pid, step.signal);
          } catch {
            // QMP unreachable or the process already gone: the next step (or the check) decides
          }
          if (await gone(step.waitMs)) break;
        }
      }
    } finally {
      owned.delete(pid);
      await rm(this.dir, { recursive: true, force: true });
    }
  }

  /** Lets go of the VM without stopping it (its SSH connection closes; the VM keeps running). */
  detach(): void {
    this.closeIdle();
  }

  private closeIdle(): void {
    for (const session of this.idle.splice(0)) session.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
