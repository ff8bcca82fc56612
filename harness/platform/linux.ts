import { posix } from 'node:path';
import type { Platform } from './types.ts';
import { POSIX_COMMON, pathDirs } from './posix.ts';

/** An XDG base folder: an absolute value of the variable, else the default under home (relative is invalid). */
function xdg(env: NodeJS.ProcessEnv, name: string, home: string, fallback: string): string {
  const v = env[name];
  return v && v.startsWith('/') ? v : posix.join(home, fallback);
}

/** Linux: KVM, QMP over a Unix socket, /proc for command lines, apt for packages, XDG folders. */
export const linux: Platform = {
  ...POSIX_COMMON,
  os: 'linux',
  accelerator: 'kvm',
  socketPathMax: 108,
  qemuSearchDirs: (env) => pathDirs(env, posix.delimiter),
  qemuPackage: (guest) => (guest === 'x86_64' ? 'qemu-system-x86' : 'qemu-system-arm'),
  packageManager: {
    name: 'apt',
    install: (packages) => [['apt-get', 'install', '-y', '--no-install-recommends', ...packages]],
  },
  commandLineSource: (pid) => ({ file: `/proc/${pid}/cmdline` }),
  stateDir: (env, home) => posix.join(xdg(env, 'XDG_STATE_HOME', home, '.local/state'), 'nslab'),
  cacheDir: (env, home) => posix.join(xdg(env, 'XDG_CACHE_HOME', home, '.cache'), 'nslab'),
};
