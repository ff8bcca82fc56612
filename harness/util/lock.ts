import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeOnExit } from './exit-cleanup.ts';
import { alive, sleep } from './process.ts';

/** How old a lock folder without a pid file must be before it counts as left by a killed process. */
const ORPHAN_MS = 10_000;

/**
 * Runs `fn` while holding a lock folder (mkdir is atomic), so that two nslab processes never write the same
 * package or image cache at once. A lock whose holder died is taken over.
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, onWait?: () => void): Promise<T> {
  let waited = false;
  for (;;) {
    try {
      await mkdir(path);
      await writeFile(join(path, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(await readFile(join(path, 'pid'), 'utf8').catch(() => '0'));
      // A holder killed between its mkdir and its pid file leaves a lock without one: stale once old.
      const orphaned =
        !holder && Date.now() - ((await stat(path).catch(() => undefined))?.mtimeMs ?? 0) > ORPHAN_MS;
      if ((holder && !alive(holder)) || orphaned) {
        await rm(path, { recursive: true, force: true });
        continue;
      }
      if (!waited) onWait?.();
      waited = true;
      await sleep(200);
    }
  }
  // Held, it goes with the process however it ends (a lock left by a killed build is also taken over).
  const release = removeOnExit(path);
  try {
    return await fn();
  } finally {
    release();
    await rm(path, { recursive: true, force: true });
  }
}
