import { CappedRecords, CappedText, PROBE_FIELD_LIMIT, STDERR_LIMIT } from '../../util/capped-output.ts';
import os from 'node:os';
import { execa } from 'execa';
import { hostPlatform } from '../../platform/index.ts';
import { hostUname } from '../host-facts.ts';
import { osName } from '../../vocabulary.ts';
import { treeKill } from '../../platform/tree-kill.ts';
import { ACCESS_FACTS_SCRIPT, decideAccess, notLinux, parseAccessFacts } from './access.ts';
import type { ProbeRun, Skip, Target, TargetInfo } from '../types.ts';

export interface NativeTargetOptions {
  /** Words put before every command, e.g. `setpriv --reuid=65534 ...` to test as another user. */
  prefix?: string[];
  /** Environment for every command (e.g. a PATH without unshare, to test that skip). */
  env?: Record<string, string>;
  /** Add `env` to this process's environment instead of replacing it. */
  extendEnv?: boolean;
  /** Pretend to be another OS; only for tests of the not-linux path. */
  platform?: NodeJS.Platform;
}

/** Runs the probe on this machine, as root, through sudo -n, or rootless in a user namespace. */
export class NativeTarget implements Target {
  readonly kind = 'native' as const;
  private access: 'root' | 'sudo' | 'userns' | undefined;
  private readonly options: NativeTargetOptions;

  constructor(options: NativeTargetOptions = {}) {
    this.options = options;
  }

  async prepare(signal?: AbortSignal): Promise<{ info: TargetInfo; skip?: Skip }> {
    const platform = this.options.platform ?? process.platform;
    const info: TargetInfo = {
      kind: 'native',
      uname: await hostUname(platform),
      os: platform,
      column: `native ${osName(platform)}`,
      observer: 'host',
    };
    if (platform !== 'linux') return { info, skip: notLinux(platform) };
    const facts = await this.run(['sh', '-c', ACCESS_FACTS_SCRIPT], undefined, signal);
    const decision = decideAccess(parseAccessFacts(facts.stdout, platform));
    if ('skip' in decision) return { info, skip: decision.skip };
    this.access = decision.access;
    info.access = decision.access;
    return { info };
  }

  async runProbe(script: string, args: readonly string[], signal?: AbortSignal): Promise<ProbeRun> {
    const sudo = this.access === 'sudo' ? ['sudo', '-n'] : [];
    return this.run([...sudo, 'sh', '-s', '--', ...args], script, signal);
  }

  async close(): Promise<void> {}

  private async run(argv: string[], input: string | undefined, signal?: AbortSignal): Promise<ProbeRun> {
    const full = [...(this.options.prefix ?? []), ...argv];
    const started = performance.now();
    // Its own process group, so that an interrupt reaches everything the probe started, the isolated
    // process included (a PID namespace does not change the process group).
    const child = execa(full[0]!, full.slice(1), {
      input: input ?? '',
      reject: false,
      stripFinalNewline: false,
      env: this.options.env,
      extendEnv: this.options.extendEnv ?? this.options.env === undefined,
      detached: true,
      // Read as it comes, into bounded sinks: a probe may print without end.
      buffer: false,
      encoding: 'buffer',
    });
    const stdout = new CappedRecords(PROBE_FIELD_LIMIT);
    const stderr = new CappedText(STDERR_LIMIT);
    child.stdout?.on('data', (d: Buffer) => stdout.push(d));
    child.stderr?.on('data', (d: Buffer) => stderr.push(d));
    const stop = () => endAll(child.pid, 'SIGTERM');
    signal?.addEventListener('abort', stop, { once: true });
    if (signal?.aborted) stop();
    try {
      const result = await child;
      return {
        stdout: stdout.text(),
        stderr: stderr.text(),
        exitCode: result.exitCode ?? 128 + (signalNumber(result.signal) ?? 1),
        durationMs: performance.now() - started,
      };
    } finally {
      signal?.removeEventListener('abort', stop);
      // After an interrupt, whatever is left of the group (the isolated process) goes too.
      if (signal?.aborted) endAll(child.pid, 'SIGKILL');
    }
  }
}

/** Ends the probe's process group; on Windows (the wsl target), its process tree. */
function endAll(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  if (hostPlatform.treeKillArgv(pid)) return void treeKill(hostPlatform, pid);
  try {
    process.kill(-pid, sig);
  } catch {
    // ESRCH: the group is already gone.
  }
}

const signalNumber = (name: string | undefined) =>
  name ? os.constants.signals[name as NodeJS.Signals] : undefined;
