import { execa } from 'execa';
import type { Platform } from './types.ts';

/**
 * Ends a process and every process it started, where the platform has a command for it (Windows: taskkill
 * /T /F; there are no process groups to signal). Bounded; a failure is left to the next stop step.
 */
export async function treeKill(platform: Platform, pid: number): Promise<void> {
  const argv = platform.treeKillArgv(pid);
  if (!argv) return;
  await execa(argv[0]!, argv.slice(1), { reject: false, timeout: 5000, windowsHide: true });
}
