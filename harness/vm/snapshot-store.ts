import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { SNAPSHOT_FORMAT } from './snapshot-key.ts';

/** <image dir>/snapshots/<key>.json: what a saved guest is, written last so that a state file alone is never used. */
export interface SnapshotMeta {
  format: number;
  key: string;
  /** The state file's size: a truncated file (a crash, a full disk) is never loaded. */
  size: number;
  accel: string;
  qemuVersion: string;
  createdAt: string;
  /** How long saving took (ms). */
  saveMs: number;
}

export interface FoundSnapshot {
  state: string;
  meta: SnapshotMeta;
}

const SUBDIR = 'snapshots';
const TMP_PREFIX = '.tmp-';

/** The saved guests of one image, next to it in the cache. */
export class SnapshotStore {
  readonly dir: string;

  constructor(imageDir: string) {
    this.dir = join(imageDir, SUBDIR);
  }

  private paths(key: string) {
    return { state: join(this.dir, `${key}.vmstate`), meta: join(this.dir, `${key}.json`) };
  }

  /** The snapshot for `key` when it is whole; a damaged or stale one is removed, and undefined returned. */
  async find(key: string): Promise<FoundSnapshot | undefined> {
    const p = this.paths(key);
    if (!existsSync(p.meta)) return undefined;
    try {
      const meta = JSON.parse(await readFile(p.meta, 'utf8')) as SnapshotMeta;
      const size = (await stat(p.state)).size;
      if (meta.format === SNAPSHOT_FORMAT && meta.key === key && meta.size === size)
        return { state: p.state, meta };
    } catch {
      // unreadable meta or no state file: same as damaged
    }
    await this.remove(key);
    return undefined;
  }

  /**
   * Where QEMU writes a new snapshot (a temporary name in the same folder), and how to publish it: one
   * rename, then the meta file. Fails (throws) when the folder cannot be written, e.g. a read-only --image.
   */
  async begin(key: string): Promise<{
    path: string;
    commit: (m: Omit<SnapshotMeta, 'format' | 'key' | 'size'>) => Promise<SnapshotMeta>;
    abort: () => Promise<void>;
  }> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, `${TMP_PREFIX}${key}.${randomBytes(4).toString('hex')}`);
    const p = this.paths(key);
    return {
      path,
      commit: async (m) => {
        const meta: SnapshotMeta = { format: SNAPSHOT_FORMAT, key, size: (await stat(path)).size, ...m };
        await chmod(path, 0o600);
        await rm(p.meta, { force: true }); // the old meta must not describe the new state, even for a moment
        await rename(path, p.state);
        await writeFileAtomic(p.meta, `${JSON.stringify(meta, null, 2)}\n`, 0o600);
        return meta;
      },
      abort: () => rm(path, { force: true }),
    };
  }

  async remove(key: string): Promise<void> {
    const p = this.paths(key);
    await rm(p.meta, { force: true });
    await rm(p.state, { force: true });
  }

  /** Every whole snapshot here, and the bytes all files here take. */
  async list(): Promise<{ snapshots: SnapshotMeta[]; bytes: number }> {
    if (!existsSync(this.dir)) return { snapshots: [], bytes: 0 };
    const snapshots: SnapshotMeta[] = [];
    let bytes = 0;
    for (const f of await readdir(this.dir)) {
      bytes += (await stat(join(this.dir, f)).catch(() => ({ size: 0 }))).size;
      if (!f.endsWith('.json')) continue;
      const found = await this.find(f.slice(0, -'.json'.length));
      if (found) snapshots.push(found.meta);
    }
    return { snapshots, bytes };
  }

  /** Removes every snapshot of this image (they are made again by the next cold boot) and any leftover. */
  async clear(): Promise<number> {
    const n = existsSync(this.dir)
      ? (await readdir(this.dir)).filter((f) => !f.startsWith(TMP_PREFIX) && f.endsWith('.vmstate')).length
      : 0;
    await rm(this.dir, { recursive: true, force: true });
    return n;
  }
}
