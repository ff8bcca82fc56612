import { rmSync } from 'node:fs';

/** VMs this process started and must not leave behind, even on a crash: QEMU's PID and its run folder. */
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

/** From now on this process kills the QEMU and removes its run folder when it exits. */
export function own(pid: number, dir: string): void {
  owned.set(pid, dir);
}

/** Stopped, gone, or kept on purpose: no longer this process's to clean up at exit. */
export function disown(pid: number): void {
  owned.delete(pid);
}
