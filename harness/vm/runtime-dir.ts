import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Where running VMs keep their per-boot files (keys, console log, QMP socket, pidfile): private to this user
 * (0700), outside the project, so that no key ever lands in vm-images/ or in git. Short, for Unix socket paths.
 */
export function runtimeDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir =
    env.NSLAB_RUNTIME_DIR ?? join(env.XDG_RUNTIME_DIR ?? tmpdir(), `nslab-${process.getuid?.() ?? 'user'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
