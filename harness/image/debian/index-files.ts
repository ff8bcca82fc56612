import { createHash } from 'node:crypto';
import { readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { compressionOf, decompress } from './decompress.ts';
import type { DownloadItem } from './download.ts';
import type { Release } from './release.ts';
import type { DebianSource } from './sources.ts';
import { VerificationError } from './verification-error.ts';

/**
 * The files a source's indices are kept in, under one `lists` folder: `<id>.InRelease` (verified before it
 * was written) and `<id>.<sha256>.Packages<.gz|.xz>`, the index it lists, named by its hash, so that an
 * InRelease and an index from two different fetches can never be taken for a pair.
 */
export class IndexFiles {
  constructor(
    readonly listsDir: string,
    readonly debArch: string,
  ) {}

  inReleasePath(source: DebianSource): string {
    return join(this.listsDir, `${source.id}.InRelease`);
  }

  private base(source: DebianSource): string {
    return `${source.component}/binary-${this.debArch}/Packages`;
  }

  /** Which index of a release to fetch: gzip (Node's own zlib, the fastest here), else xz, else plain. */
  item(source: DebianSource, release: Release): DownloadItem {
    const base = this.base(source);
    for (const suffix of ['.gz', '.xz', '']) {
      const entry = release.files.get(`${base}${suffix}`);
      if (!entry) continue;
      const dir = `${source.mirror}/dists/${source.suite}`;
      const plain = `${dir}/${base}${suffix}`;
      // by-hash: the file a mirror update replaces stays reachable under its hash (apt does the same), and
      // the plain path where a mirror has no by-hash files.
      const byHash = `${dir}/${source.component}/binary-${this.debArch}/by-hash/SHA256/${entry.sha256}`;
      return {
        url: release.acquireByHash ? byHash : plain,
        ...(release.acquireByHash ? { fallbackUrl: plain } : {}),
        dest: join(this.listsDir, `${source.id}.${entry.sha256}.Packages${suffix}`),
        size: entry.size,
        sha256: entry.sha256,
      };
    }
    throw new VerificationError(release.url, `an index ${base}(.gz|.xz) for ${this.debArch}`, 'none listed');
  }

  /** The stored index the stored InRelease of `source` lists (by hash and path), if both are there. */
  async stored(source: DebianSource): Promise<string | undefined> {
    const text = await readFile(this.inReleasePath(source), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    const files = (await readdir(this.listsDir).catch(() => [])).filter(
      (f) => f.startsWith(`${source.id}.`) && f.includes('.Packages'),
    );
    return files.map((f) => join(this.listsDir, f)).find((f) => listedIn(text, f, this.base(source)));
  }

  /** Removes the indices no stored InRelease lists, and an empty partial/ folder. */
  async prune(sources: readonly DebianSource[]): Promise<void> {
    const keep = new Set((await Promise.all(sources.map((s) => this.stored(s)))).filter(Boolean));
    for (const f of await readdir(this.listsDir).catch(() => [])) {
      const path = join(this.listsDir, f);
      if (f.includes('.Packages') && !keep.has(path)) await rm(path, { force: true });
    }
    // A transfer the network cut stays in partial/ to be resumed; an empty partial/ does not.
    await rmdir(join(this.listsDir, 'partial')).catch(() => {});
  }

  /** A stored index's text, checked again against the hash in its name (a damaged file is removed). */
  async read(path: string): Promise<string> {
    const data = await readFile(path);
    const want = /\.([0-9a-f]{64})\.Packages/.exec(path)![1]!;
    const got = createHash('sha256').update(data).digest('hex');
    if (got !== want) {
      await rm(path, { force: true });
      throw new VerificationError(
        path,
        `SHA256 ${want} (the signed index)`,
        `SHA256 ${got}; removed, the next build fetches it again`,
      );
    }
    return (await decompress(data, compressionOf(path))).toString('utf8');
  }
}

/**
 * Whether the stored index `path` (`<id>.<sha256>.Packages<suffix>`) is the one `inRelease` lists: a SHA256
 * line with that hash for exactly `<base><suffix>`.
 */
function listedIn(inRelease: string, path: string, base: string): boolean {
  const m = /\.([0-9a-f]{64})\.Packages(\.gz|\.xz)?$/.exec(path);
  if (!m) return false;
  return inRelease.split('\n').some((line) => {
    const f = line.trim().split(/\s+/);
    return f.length === 3 && f[0] === m[1] && f[2] === `${base}${m[2] ?? ''}`;
  });
}
