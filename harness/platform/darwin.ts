import { posix } from 'node:path';
import type { Platform } from './types.ts';
import { POSIX_COMMON, pathDirs } from './posix.ts';

/**
 * macOS: HVF (kern.hv_support, and QEMU's hypervisor entitlement), QMP over a Unix socket, `ps` for
 * command lines, Homebrew for packages, ~/Library folders.
 */
export const darwin: Platform = {
  ...POSIX_COMMON,
  os: 'darwin',
  accelerator: 'hvf',
  socketPathMax: 104,
  // Homebrew on Apple Silicon, Homebrew on Intel, MacPorts: a GUI-started shell may lack them on PATH.
  qemuSearchDirs: (env) => [
    ...pathDirs(env, posix.delimiter),
    '/opt/homebrew/bin',
    '/usr/local/bin',
    '/opt/local/bin',
  ],
  qemuPackage: () => 'qemu',
  packageManager: { name: 'brew', install: (packages) => [['brew', 'install', ...packages]] },
  commandLineSource: (pid) => ({ argv: ['ps', '-p', String(pid), '-o', 'command='] }),
  stateDir: (_env, home) => posix.join(home, 'Library', 'Application Support', 'nslab'),
  cacheDir: (_env, home) => posix.join(home, 'Library', 'Caches', 'nslab'),
};
