import { existsSync, rmSync } from 'node:fs';
import { alive } from './process.ts';

/** Paths this process must not leave behind, even when it exits at once (a second Ctrl-C, SIGTERM with no handler). */
const paths = new Map<string, () => number[]>();
let hooked = false;

/** Blocks for `ms` (an 'exit' hook cannot await). */
const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Removes `path` (a lock, a half-built folder) if the process exits before the returned release is called.
 * `writers` names the processes that may still write into it (a build's unpackers, each the leader of its
 * own process group): their groups are killed, and waited for (at most 1 s), first, or they would make the
 * folder again. Synchronous: an 'exit' hook cannot wait.
 */
export function removeOnExit(path: string, writers: () => number[] = () => []): () => void {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const [p, pids] of paths) {
        const live = pids().filter(alive);
        for (const pid of live) {
          // The writer's whole process group: dpkg-deb works through a tar child of its own.
          for (const target of [-pid, pid]) {
            try {
              process.kill(target, 'SIGKILL');
            } catch {
              // no such group, or gone already
            }
          }
        }
        for (let i = 0; i < 100 && live.some(alive); i++) pause(10);
        // A file operation already handed to libuv's threads (a recursive mkdir) may still land after the
        // first removal and make part of the folder again: remove until it stays gone (bounded).
        for (let i = 0; i < 10; i++) {
          rmSync(p, { recursive: true, force: true });
          pause(20);
          if (!existsSync(p)) break;
        }
      }
    });
  }
  paths.set(path, writers);
  return () => paths.delete(path);
}
