import { rmSync } from 'node:fs';

/** Paths this process must not leave behind, even when it exits at once (a second Ctrl-C, SIGTERM with no handler). */
const paths = new Set<string>();
let hooked = false;

/**
 * Removes `path` (a lock, a half-built folder) if the process exits before the returned release is called.
 * Synchronous on purpose: an 'exit' hook cannot wait.
 */
export function removeOnExit(path: string): () => void {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const p of paths) rmSync(p, { recursive: true, force: true });
    });
  }
  paths.add(path);
  return () => paths.delete(path);
}
