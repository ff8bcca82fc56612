import { posix } from 'node:path';
import type { Platform } from './types.ts';
import { POSIX_INTERRUPTS, pathDirs, posixQuote, posixStopPlan } from './posix.ts';

/**
 * macOS: HVF (kern.hv_support, and QEMU's hypervisor entitlement), QMP over a Unix socket, `ps` for
 * command lines, Homebrew for packages, ~/Library folders.
 */
export const darwin: Platform = {
  os: 'darwin',
  path: posix,
  accelerator: 'hvf',
  control: 'unix-socket',
  interruptSignals: POSIX_INTERRUPTS,
  exe: (name) => name,
  pathDirs: (env) => pathDirs(env, posix.delimiter),
  // Homebrew on Apple Silicon, Homebrew on Intel, MacPorts: a GUI-started shell may lack them on PATH.
  qemuSearchDirs: (env) => [
    ...pathDirs(env, posix.delimiter),
    '/opt/homebrew/bin',
    '/usr/local/bin',
    '/opt/local/bin',
  ],
  qemuPackage: () => 'qemu',
  packageManager: { name: 'brew', install: (packages) => [['brew', 'install', ...packages]] },
  stopPlan: posixStopPlan,
  treeKillArgv: () => undefined,
  commandLineSource: (pid) => ({ argv: ['ps', '-p', String(pid), '-o', 'command='] }),
  stateDir: (_env, home) => posix.join(home, 'Library', 'Application Support', 'nslab'),
  cacheDir: (_env, home) => posix.join(home, 'Library', 'Caches', 'nslab'),
  quote: posixQuote,
};
