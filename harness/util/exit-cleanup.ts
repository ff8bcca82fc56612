import { existsSync, rmSync } from 'node:fs';

/** Paths this process must not leave behind, even when it exits at once (a second Ctrl-C, SIGTERM with no handler). */
const paths = new Set<string>();
let hooked = false;

/** Blocks for `ms` (an 'exit' hook cannot await). */
const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Removes `path` (a lock, a half-built folder) if the process exits before the returned release is called.
 * Synchronous: an 'exit' hook cannot wait. (The image build has no child process writing there any more:
 * it unpacks packages in memory, and its worker threads end with the process.)
 */
export function removeOnExit(path: string): () => void {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const p of paths) {
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
  paths.add(path);
  return () => paths.delete(path);
}
