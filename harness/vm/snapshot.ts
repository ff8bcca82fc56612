import type { Platform } from '../platform/index.ts';
import { shellQuote } from '../util/shell-quote.ts';
import { sleep } from '../util/process.ts';
import { qmpCommand, type QmpAddress } from './qmp.ts';
import type { SnapshotMeta, SnapshotStore } from './snapshot-store.ts';

type Version = [number, number, number] | undefined;

const atLeast = (v: Version, [a, b, c]: [number, number, number]) =>
  !!v && (v[0] !== a ? v[0] > a : v[1] !== b ? v[1] > b : v[2] >= c);

/**
 * How QEMU writes (`to`) and reads (`from`) a saved guest at `path`. Pure.
 * - From QEMU 8.2: the `file:` transport both ways. QEMU opens the file itself; nothing else works from
 *   11.0 on, which removed `fd:` on regular files ("fd: migration to a file is not supported. Use file:
 *   instead.", QEMU's removed-features list).
 * - Before 8.2, POSIX: `exec:cat` through sh to save (the path quoted for that shell); to restore, the
 *   file opened by nslab and inherited as QEMU's fd `inheritFd` (`fd:3`), so no shell or pipe copies it.
 * - Before 8.2 on Windows: no `exec:` there, so no snapshots.
 */
export function migrationUris(
  path: string,
  version: Version,
  platform: Platform,
): { to: string; from: string; inheritFd?: number } | undefined {
  if (atLeast(version, [8, 2, 0])) return { to: `file:${path}`, from: `file:${path}` };
  if (platform.os === 'win32') return undefined;
  return { to: `exec:cat > ${shellQuote(path)}`, from: `fd:${SAVED_FD}`, inheritFd: SAVED_FD };
}

/** The fd a QEMU before 8.2 gets the saved guest on (after stdin, stdout, stderr). */
const SAVED_FD = 3;

interface MigrateStatus {
  status?: string;
  'error-desc'?: string;
}

/** Polls query-migrate until the migration is over; throws with QEMU's words when it failed. */
async function migrationDone(qmp: QmpAddress, timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const s = (await qmpCommand(qmp, 'query-migrate')) as MigrateStatus;
    if (s.status === 'completed') return;
    if (s.status === 'failed' || s.status === 'cancelled')
      throw new Error(`migration ${s.status}${s['error-desc'] ? `: ${s['error-desc']}` : ''}`);
    if (performance.now() > until)
      throw new Error(`migration not done in ${timeoutMs} ms (${s.status ?? '?'})`);
    await sleep(15);
  }
}

/**
 * Saves the paused guest into the store under `key`, then lets it run on. The guest is saved while its
 * init waits for the boot's secrets, so the file holds none. Any failure leaves no file and is returned
 * as a note: a snapshot is an optimisation, never a reason for a boot to fail.
 */
export async function saveSnapshot(a: {
  qmp: QmpAddress;
  store: SnapshotStore;
  key: string;
  version: Version;
  versionLine: string;
  accel: string;
  platform: Platform;
}): Promise<{ meta: SnapshotMeta } | { note: string }> {
  const started = performance.now();
  let w: Awaited<ReturnType<SnapshotStore['begin']>> | undefined;
  try {
    w = await a.store.begin(a.key);
    const uris = migrationUris(w.path, a.version, a.platform);
    if (!uris)
      return { note: `QEMU ${a.versionLine} on ${a.platform.os} cannot save to a file (8.2 or newer can)` };
    await qmpCommand(a.qmp, 'stop');
    // The default bandwidth cap (128 MiB/s) is for live migration over a network; this is a local file.
    await qmpCommand(a.qmp, 'migrate-set-parameters', 2000, { 'max-bandwidth': 64 * 1024 ** 3 });
    await qmpCommand(a.qmp, 'migrate', 5000, { uri: uris.to });
    await migrationDone(a.qmp, 60_000);
    const meta = await w.commit({
      accel: a.accel,
      qemuVersion: a.versionLine,
      createdAt: new Date().toISOString(),
      saveMs: Math.round(performance.now() - started),
    });
    return { meta };
  } catch (error) {
    await w?.abort();
    return { note: `not saved: ${(error as Error).message}` };
  } finally {
    await qmpCommand(a.qmp, 'cont').catch(() => undefined);
  }
}

/**
 * Loads a saved guest into a QEMU started with `-incoming defer`, then starts it. Throws with QEMU's
 * words when the file does not load (the caller boots cold instead).
 */
export async function loadSnapshot(a: {
  qmp: QmpAddress;
  state: string;
  version: Version;
  platform: Platform;
  timeoutMs: number;
}): Promise<void> {
  const uris = migrationUris(a.state, a.version, a.platform);
  if (!uris) throw new Error('this QEMU cannot load a saved guest from a file');
  await qmpCommand(a.qmp, 'migrate-incoming', 5000, { uri: uris.from });
  // Loading: 'inmigrate'; then 'paused' (the guest was saved paused). A file that does not load makes QEMU
  // exit, and the next query fails.
  const until = performance.now() + a.timeoutMs;
  for (;;) {
    const s = (await qmpCommand(a.qmp, 'query-status')) as { status?: string };
    if (s.status !== 'inmigrate') break;
    if (performance.now() > until) throw new Error(`the saved guest did not load in ${a.timeoutMs} ms`);
    await sleep(10);
  }
  await qmpCommand(a.qmp, 'cont');
}
