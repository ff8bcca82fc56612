import type { PlatformPath } from 'node:path';
import type { Arch } from '../vocabulary.ts';

/** The host operating systems nslab knows how to drive QEMU on. */
export type HostOs = 'linux' | 'darwin' | 'win32';

/** One step of stopping a VM's QEMU, each with a bound (see Platform.stopPlan). */
export type StopStep =
  | { do: 'qmp'; command: 'quit' | 'system_powerdown'; waitMs: number }
  | { do: 'signal'; signal: 'SIGTERM' | 'SIGKILL'; waitMs: number }
  | { do: 'tree-kill'; waitMs: number };

/** How to install system packages on a host: the manager's name and the command for a list. */
export interface PackageManager {
  name: 'apt' | 'brew' | 'winget';
  /** The commands that install these packages (without sudo), run in order. */
  install(packages: readonly string[]): string[][];
}

/**
 * Everything that differs by host OS, in one object. Code that must behave differently on macOS or
 * Windows asks the platform instead of testing `process.platform`, so that tests on this Linux machine can
 * hand it `platformFor('darwin')` or `platformFor('win32')` and check every host's decisions. All pure:
 * nothing here touches the machine; callers pass the environment and home folder in.
 */
export interface Platform {
  readonly os: HostOs;
  /** Path rules of the host, not of the machine running the tests: `path.win32` for Windows. */
  readonly path: PlatformPath;
  /** The hardware accelerator QEMU has on this OS (whether it works is probed, never assumed). */
  readonly accelerator: 'kvm' | 'hvf' | 'whpx';
  /** QMP over a Unix socket in the VM's private folder, or over TCP on 127.0.0.1 where there are none. */
  readonly control: 'unix-socket' | 'tcp';
  /**
   * The size of a Unix socket's path field (`sun_path`, its NUL included): 108 bytes on Linux, 104 on macOS.
   * QEMU fails to listen on a longer path. Undefined where control is TCP.
   */
  readonly socketPathMax?: number;
  /** The signals that mean "stop now": each ends the run like Ctrl-C, with cleanup. */
  readonly interruptSignals: readonly NodeJS.Signals[];
  /** An executable's file name (`.exe` on Windows). */
  exe(name: string): string;
  /** The folders of PATH, split by this host's delimiter. */
  pathDirs(env: NodeJS.ProcessEnv): string[];
  /** Where QEMU is looked for: PATH first, then where the usual installers put it. */
  qemuSearchDirs(env: NodeJS.ProcessEnv): string[];
  /** The package that brings `qemu-system-<guest>` on this host. */
  qemuPackage(guest: Arch): string;
  /** The package manager `npm run setup` uses. */
  readonly packageManager: PackageManager;
  /** How a VM's QEMU is stopped: QMP first, then signals or a process-tree kill, each with a bound. */
  stopPlan(clean: boolean): StopStep[];
  /** The command that ends a process and everything it started (Windows has no process groups to signal). */
  treeKillArgv(pid: number): string[] | undefined;
  /** Where to read a process's command line: a file (/proc), or a command's output. */
  commandLineSource(pid: number): { file: string } | { argv: string[] };
  /** Where nslab keeps what it learned about this host between runs (accelerator verdicts). */
  stateDir(env: NodeJS.ProcessEnv, home: string): string;
  /** Where an installed nslab caches VM images (the user's cache folder). */
  cacheDir(env: NodeJS.ProcessEnv, home: string): string;
  /** A command line to paste into this host's usual shell (POSIX sh, or PowerShell on Windows). */
  quote(argv: readonly string[]): string;
}
