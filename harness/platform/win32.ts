import { win32 as path } from 'node:path';
import type { Platform } from './types.ts';
import { pathDirs } from './posix.ts';
import { powershellJoin } from '../util/shell-quote.ts';

const localAppData = (env: NodeJS.ProcessEnv, home: string) =>
  env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local');

/**
 * Windows: WHPX (tried, never assumed), QMP over TCP on 127.0.0.1 (QEMU for Windows has no Unix socket
 * chardev), CIM for command lines, winget for packages (Lima chose it over Chocolatey), %LOCALAPPDATA%.
 */
export const win32: Platform = {
  os: 'win32',
  path,
  accelerator: 'whpx',
  control: 'tcp',
  // Ctrl-C and Ctrl-Break in the console; SIGHUP when its window is closed (Node maps CTRL_CLOSE_EVENT).
  // SIGTERM is never delivered on Windows: Node cannot receive it.
  interruptSignals: ['SIGINT', 'SIGBREAK', 'SIGHUP'],
  exe: (name) => `${name}.exe`,
  pathDirs: (env) => pathDirs(env, path.delimiter),
  // The QEMU installer (winget's SoftwareFreedomConservancy.QEMU) goes to C:\Program Files\qemu and
  // does not touch PATH.
  qemuSearchDirs: (env) => {
    const programFiles = [env.ProgramFiles, env['ProgramFiles(x86)'], 'C:\\Program Files'].filter(
      (p): p is string => Boolean(p),
    );
    return [...new Set([...pathDirs(env, path.delimiter), ...programFiles.map((p) => path.join(p, 'qemu'))])];
  },
  qemuPackage: () => 'SoftwareFreedomConservancy.QEMU',
  packageManager: {
    name: 'winget',
    // One package per call: `winget install --id` takes one identifier.
    install: (packages) =>
      packages.map((id) => [
        'winget',
        'install',
        '--id',
        id,
        '--exact',
        '--silent',
        '--accept-package-agreements',
        '--accept-source-agreements',
      ]),
  },
  // Node's SIGTERM on Windows is TerminateProcess, the same as SIGKILL: after QMP, end the whole tree.
  stopPlan: (clean) => [
    { do: 'qmp', command: clean ? 'system_powerdown' : 'quit', waitMs: clean ? 15_000 : 2000 },
    { do: 'tree-kill', waitMs: 2000 },
    { do: 'signal', signal: 'SIGKILL', waitMs: 2000 },
  ],
  treeKillArgv: (pid) => ['taskkill.exe', '/PID', String(pid), '/T', '/F'],
  commandLineSource: (pid) => ({
    argv: [
      'powershell.exe',
      '-NoProfile',
      '-NonInteractive',
      '-Command',
      `(Get-CimInstance Win32_Process -Filter "ProcessId=${pid}").CommandLine`,
    ],
  }),
  stateDir: (env, home) => path.join(localAppData(env, home), 'nslab'),
  cacheDir: (env, home) => path.join(localAppData(env, home), 'nslab', 'cache'),
  quote: powershellJoin,
};
