import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { compressionOf, decompress } from './decompress.ts';
import { downloadAll, FetchError, describeNetworkError, type DownloadItem } from './download.ts';
import { loadArchiveKeys, type ArchiveKeys } from './keys.ts';
import { PackageIndex, parsePackages, type PackageRecord } from './package-index.ts';
import { verifyInRelease, type Release } from './release.ts';
import type { DebianSource } from './sources.ts';
import { VerificationError } from './verification-error.ts';

/** What the builder needs of a package to fetch and check it. */
export type PackageRef = Pick<PackageRecord, 'name' | 'version' | 'arch' | 'filename' | 'size' | 'sha256'> & {
  /** The mirror URL it comes from. */
  mirror: string;
};

export interface ArchiveOptions {
  log?: (line: string) => void;
  /** A transient status line (download progress); shown only where the caller has a terminal. */
  status?: (text: string) => void;
  /** The keyring InRelease files must be signed with (default: the shipped Debian archive keys). */
  keysFile?: string;
  now?: () => Date;
  fetch?: typeof fetch;
}

/**
 * Debian's archive for one architecture, read the way apt reads it but in Node, so that it runs the same on
 * Linux, macOS and Windows: signed InRelease files, the Packages indices they list (checked by SHA256),
 * and .deb files (checked by the SHA256 in Packages), all kept under `root`. After the first fetch it
 * works offline; `refresh` fetches the indices again.
 *
 *   root/lists/<source>.InRelease            verified, written last (it names the index below)
 *   root/lists/<source>.<sha256>.Packages.gz  the index it lists, named by its hash
 *   root/debs/<name>_<version>_<arch>.deb     verified packages; debs/partial/ holds transfers to resume
 *   root/resolved.json                       resolutions, keyed by the InRelease files they came from
 */
export class DebianArchive {
  private index: PackageIndex | undefined;
  private keys: ArchiveKeys | undefined;

  constructor(
    readonly root: string,
    readonly debArch: string,
    readonly sources: readonly DebianSource[],
    private readonly options: ArchiveOptions = {},
  ) {}

  get listsDir(): string {
    return join(this.root, 'lists');
  }

  get debDir(): string {
    return join(this.root, 'debs');
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  /** Fetches and verifies the indices when any is missing (or when asked); offline otherwise. */
  async ensureIndices(refresh: boolean): Promise<void> {
    const have = await Promise.all(this.sources.map((s) => this.storedIndex(s)));
    if (!refresh && have.every(Boolean)) return;
    await mkdir(this.listsDir, { recursive: true });
    this.log(
      `debian: fetching the ${this.debArch} package indices of ${this.sources.map((s) => s.suite).join(', ')}`,
    );
    const keys = await this.archiveKeys();
    try {
      const releases = await Promise.all(this.sources.map((s) => this.fetchRelease(s, keys)));
      const items = releases.map(({ source, release }) => this.indexItem(source, release));
      await downloadAll(
        items.map((i) => i.item),
        { fetch: this.options.fetch, onProgress: this.progress('indices') },
      );
      // Only now the InRelease files: each names an index that is already in place and verified.
      for (const { source, text } of releases) await writeFileAtomic(this.inReleasePath(source), text);
    } finally {
      // Failed or not, no index stays that no stored InRelease names (a failure keeps the earlier set whole).
      await this.pruneIndices();
      this.index = undefined;
      this.options.status?.('');
    }
  }

  /** The candidate of each name, and of the kernel a metapackage points at; memoised by the indices. */
  async resolve(
    names: readonly string[],
    kernelMeta: string,
  ): Promise<{ kernelPackage: string; packages: PackageRef[] }> {
    return this.memoised('resolved.json', `${[...names].sort().join(',')}+${kernelMeta}`, async () => {
      const index = await this.packageIndex();
      const meta = index.candidate(kernelMeta);
      if (!meta) throw this.missing([kernelMeta]);
      // The metapackage's dependency that is a kernel image: the newest one the release has.
      const kernel = index.dependenciesOf(meta).find((d) => /^linux-image-.*-cloud-/.test(d.name));
      if (!kernel)
        throw new VerificationError(kernelMeta, 'a dependency on a linux-image-*-cloud-* package', 'none');
      const wanted = [...names, kernel.name];
      const missing = wanted.filter((n) => !index.satisfier({ name: n }));
      if (missing.length > 0) throw this.missing(missing);
      const packages = wanted.map((n) => this.ref(index.satisfier({ name: n })!));
      return { kernelPackage: kernel.name, packages };
    });
  }

  /** The path of each package's .deb, fetching the ones not yet in the cache (concurrently, verified). */
  async download(packages: readonly PackageRef[]): Promise<Map<string, string>> {
    await mkdir(this.debDir, { recursive: true });
    const paths = new Map(packages.map((p) => [p.name, join(this.debDir, debFileName(p))]));
    const missing = packages.filter((p) => !existsSync(paths.get(p.name)!));
    if (missing.length > 0) {
      const mb = (missing.reduce((n, p) => n + p.size, 0) / 1e6).toFixed(1);
      this.log(
        `debian: downloading ${missing.length} ${this.debArch} packages (${mb} MB): ${missing.map((p) => p.name).join(', ')}`,
      );
      await downloadAll(
        missing.map((p) => ({
          url: `${p.mirror}/${p.filename}`,
          dest: paths.get(p.name)!,
          size: p.size,
          sha256: p.sha256,
        })),
        { fetch: this.options.fetch, onProgress: this.progress('packages') },
      );
      this.options.status?.('');
    }
    return paths;
  }

  /** A cached .deb read back, checked again against its SHA256 (a damaged cache entry is removed). */
  async readVerified(ref: PackageRef, path: string): Promise<Buffer> {
    const data = await readFile(path);
    const sha256 = createHash('sha256').update(data).digest('hex');
    if (sha256 !== ref.sha256) {
      await rm(path, { force: true });
      throw new VerificationError(
        path,
        `SHA256 ${ref.sha256} (the signed index)`,
        `SHA256 ${sha256}; removed, the next build fetches it again`,
      );
    }
    return data;
  }

  /** Changes when any stored InRelease changes: what resolution depends on. */
  async fingerprint(): Promise<string> {
    const hash = createHash('sha256');
    for (const s of this.sources)
      hash
        .update(s.id)
        .update('\0')
        .update(await readFile(this.inReleasePath(s)));
    return hash.digest('hex').slice(0, 16);
  }

  private ref(r: PackageRecord): PackageRef {
    const source = this.sources.find((s) => s.id === r.origin)!;
    return {
      name: r.name,
      version: r.version,
      arch: r.arch,
      filename: r.filename,
      size: r.size,
      sha256: r.sha256,
      mirror: source.mirror,
    };
  }

  private missing(names: string[]): Error {
    return new VerificationError(
      `the ${this.debArch} indices of ${this.sources.map((s) => s.suite).join(', ')}`,
      `packages named ${names.join(', ')}`,
      'no such package (check the Debian release, or fetch the indices again with --refresh)',
    );
  }

  private progress(what: string) {
    const status = this.options.status;
    if (!status) return undefined;
    let last = 0;
    return (done: number, total: number) => {
      const now = performance.now();
      if (now - last < 100 && done < total) return;
      last = now;
      status(
        `debian: ${what} ${(done / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB (${total ? Math.floor((100 * done) / total) : 100}%)`,
      );
    };
  }

  private async archiveKeys(): Promise<ArchiveKeys> {
    this.keys ??= await loadArchiveKeys(this.options.keysFile);
    return this.keys;
  }

  private inReleasePath(source: DebianSource): string {
    return join(this.listsDir, `${source.id}.InRelease`);
  }

  private async fetchRelease(source: DebianSource, keys: ArchiveKeys) {
    const url = `${source.mirror}/dists/${source.suite}/InRelease`;
    let response: Response;
    try {
      response = await (this.options.fetch ?? fetch)(url, { signal: AbortSignal.timeout(60_000) });
    } catch (error) {
      throw new FetchError(url, describeNetworkError(error));
    }
    if (!response.ok) throw new FetchError(url, `HTTP ${response.status} ${response.statusText}`);
    const text = await response.text();
    const release = await verifyInRelease(text, keys, {
      url,
      suite: source.suite,
      now: (this.options.now ?? (() => new Date()))(),
    });
    return { source, release, text };
  }

  /** Which index of a release to fetch: gzip (Node's own zlib, the fastest here), else xz, else plain. */
  private indexItem(source: DebianSource, release: Release): { item: DownloadItem } {
    const base = `${source.component}/binary-${this.debArch}/Packages`;
    for (const suffix of ['.gz', '.xz', '']) {
      const entry = release.files.get(`${base}${suffix}`);
      if (!entry) continue;
      const dir = `${source.mirror}/dists/${source.suite}`;
      // by-hash: the file a mirror update replaces stays reachable under its hash (apt does the same).
      const url = release.acquireByHash
        ? `${dir}/${source.component}/binary-${this.debArch}/by-hash/SHA256/${entry.sha256}`
        : `${dir}/${base}${suffix}`;
      return {
        item: {
          url,
          dest: this.indexPath(source, entry.sha256, suffix),
          size: entry.size,
          sha256: entry.sha256,
        },
      };
    }
    throw new VerificationError(release.url, `an index ${base}(.gz|.xz) for ${this.debArch}`, 'none listed');
  }

  private indexPath(source: DebianSource, sha256: string, suffix: string): string {
    return join(this.listsDir, `${source.id}.${sha256}.Packages${suffix}`);
  }

  /** The stored index a stored InRelease names, if both are there. */
  private async storedIndex(source: DebianSource): Promise<string | undefined> {
    const text = await readFile(this.inReleasePath(source), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    const prefix = `${source.id}.`;
    const files = (await readdir(this.listsDir).catch(() => [])).filter(
      (f) => f.startsWith(prefix) && f.includes('.Packages'),
    );
    // The InRelease was verified before it was written; the index is the one whose hash it lists.
    return files.map((f) => join(this.listsDir, f)).find((f) => hashIn(text, f));
  }

  /** Removes indices no stored InRelease names any more. */
  private async pruneIndices(): Promise<void> {
    const keep = new Set((await Promise.all(this.sources.map((s) => this.storedIndex(s)))).filter(Boolean));
    for (const f of await readdir(this.listsDir)) {
      const path = join(this.listsDir, f);
      if (f.includes('.Packages') && !keep.has(path)) await rm(path, { force: true });
    }
    // A transfer the network cut stays in partial/ to be resumed; an empty partial/ does not.
    await rmdir(join(this.listsDir, 'partial')).catch(() => {});
  }

  private async packageIndex(): Promise<PackageIndex> {
    if (this.index) return this.index;
    const records: PackageRecord[] = [];
    for (const source of this.sources) {
      const path = await this.storedIndex(source);
      if (!path) throw new Error(`no index for ${source.id}: ensureIndices() first`);
      const text = (await decompress(await readFile(path), compressionOf(path))).toString('utf8');
      records.push(...parsePackages(text, source.id));
    }
    this.index = new PackageIndex(this.debArch, records);
    return this.index;
  }

  /** A value kept in `file` for as long as the stored indices (and `what`) stay the same. */
  private async memoised<T>(file: string, what: string, compute: () => Promise<T>): Promise<T> {
    const path = join(this.root, file);
    const key = `1:${await this.fingerprint()}:${what}`; // 1: the memo's own format
    try {
      const saved = JSON.parse(await readFile(path, 'utf8'));
      if (saved.key === key) return saved.value as T;
    } catch {
      // no memo yet
    }
    const value = await compute();
    await writeFileAtomic(path, JSON.stringify({ key, value }));
    return value;
  }
}

/** Whether the stored index `path` (named `<id>.<sha256>.Packages…`) is the one `inRelease` lists. */
function hashIn(inRelease: string, path: string): boolean {
  const m = /\.([0-9a-f]{64})\.Packages/.exec(path);
  return m !== null && inRelease.includes(m[1]!);
}

/** apt's own file name for a package (`:` in an epoch written `%3a`). */
export function debFileName(p: Pick<PackageRecord, 'name' | 'version' | 'arch'>): string {
  return `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.arch}.deb`;
}
