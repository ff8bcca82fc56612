import { readFile, rm } from 'node:fs/promises';
import { ExitCode, NslabError } from '../errors.ts';
import { hostPlatform } from '../platform/index.ts';
import { treeKill } from '../platform/tree-kill.ts';
import { SshSession, type ExecOptions, type ExecResult } from '../ssh/index.ts';
import { alive, sleep } from '../util/process.ts';
import { ConsoleLog } from './console-log.ts';
import { BootError } from './errors.ts';
import { disown } from './owned.ts';
import { qmpCommand } from './qmp.ts';
import { runFile } from './run-folder.ts';
import { isOurQemu, runningState, type VmState } from './state.ts';

/** How long stop() waits for each QMP step's answer (quit, system_powerdown) before the next step. */
export const QMP_STOP_GIVE_UP_MS = 2000;

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
    return new StartedVm(dir, state, new ConsoleLog(runFile(dir, 'console')));
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
  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
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
            if (step.do === 'qmp') await qmpCommand(qmp, step.command, QMP_STOP_GIVE_UP_MS);
            else if (step.do === 'tree-kill') await treeKill(hostPlatform, pid);
            else process.kill(pid, step.signal);
          } catch {
            // QMP unreachable or the process already gone: the next step (or the check) decides
          }
          if (await gone(step.waitMs)) break;
        }
      }
    } finally {
      disown(pid);
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
