import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { downloadAll, FetchError, describeNetworkError } from './download.ts';
import { IndexFiles } from './index-files.ts';
import { loadArchiveKeys, type ArchiveKeys } from './keys.ts';
import { PackageIndex, parsePackages, type PackageRecord } from './package-index.ts';
import { verifyInRelease, type Release } from './release.ts';
import { ResolutionError } from './resolution-error.ts';
import type { DebianSource } from './sources.ts';
import { VerificationError } from './verification-error.ts';

/** What the builder needs of a package to fetch and check it. */
export type PackageRef = Pick<
  PackageRecord,
  'name' | 'version' | 'arch' | 'filename' | 'size' | 'sha256' | 'origin'
> & {
  /** The mirror it is fetched from: its source's mirror as set now, not when it was resolved. */
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
  private readonly files: IndexFiles;

  constructor(
    readonly root: string,
    readonly debArch: string,
    readonly sources: readonly DebianSource[],
    private readonly options: ArchiveOptions = {},
  ) {
    this.files = new IndexFiles(join(root, 'lists'), debArch);
  }

  get listsDir(): string {
    return this.files.listsDir;
  }

  get debDir(): string {
    return join(this.root, 'debs');
  }

  /** Fetches and verifies the indices when any is missing (or when asked); offline otherwise. */
  async ensureIndices(refresh: boolean): Promise<void> {
    const have = await Promise.all(this.sources.map((s) => this.files.stored(s)));
    if (!refresh && have.every(Boolean)) return;
    await mkdir(this.listsDir, { recursive: true });
    const suites = this.sources.map((s) => s.suite).join(', ');
    this.options.log?.(`debian: fetching the ${this.debArch} package indices of ${suites}`);
    const keys = await this.archiveKeys();
    try {
      const releases = await Promise.all(this.sources.map((s) => this.fetchRelease(s, keys)));
      await downloadAll(
        releases.map(({ source, release }) => this.files.item(source, release)),
        { fetch: this.options.fetch, onProgress: this.progress('indices') },
      );
      // Only now the InRelease files: each names an index that is already in place and verified.
      for (const { source, text } of releases) await writeFileAtomic(this.files.inReleasePath(source), text);
    } finally {
      // Failed or not, no index stays that no stored InRelease names (a failure keeps the earlier set whole).
      await this.files.prune(this.sources);
      this.index = undefined;
      this.options.status?.(''); // the error, if any, goes on a line of its own
    }
  }

  /** The candidate of each name, and of the kernel a metapackage points at; memoised by the indices. */
  async resolve(
    names: readonly string[],
    kernelMeta: string,
  ): Promise<{ kernelPackage: string; packages: PackageRef[] }> {
    const key = `${[...names].sort().join(',')}+${kernelMeta}`;
    const resolved = await this.memoised('resolved.json', key, async () => {
      const index = await this.packageIndex();
      const meta = index.candidate(kernelMeta);
      if (!meta) throw this.missing([kernelMeta]);
      // The metapackage's dependency that is a kernel image: the newest one the release has.
      const kernel = index.dependenciesOf(meta).find((d) => /^linux-image-.*-cloud-/.test(d.name));
      if (!kernel)
        throw new ResolutionError(
          `${kernelMeta} ${meta.version} depends on no linux-image-*-cloud-* package`,
        );
      const wanted = [...names, kernel.name];
      const missing = wanted.filter((n) => !index.satisfier({ name: n }));
      if (missing.length > 0) throw this.missing(missing);
      const packages = wanted.map((n) => {
        const { name, version, arch, filename, size, sha256, origin } = index.satisfier({ name: n })!;
        return { name, version, arch, filename, size, sha256, origin };
      });
      return { kernelPackage: kernel.name, packages };
    });
    // Each package's mirror as set now: another NSLAB_DEBIAN_MIRROR serves the same signed files, so it does
    // not change the memo's key, but the downloads must go there.
    return {
      kernelPackage: resolved.kernelPackage,
      packages: resolved.packages.map((p) => ({ ...p, mirror: this.source(p.origin).mirror })),
    };
  }

  /** The path of each package's .deb, fetching the ones not yet in the cache (concurrently, verified). */
  async download(packages: readonly PackageRef[]): Promise<Map<string, string>> {
    await mkdir(this.debDir, { recursive: true });
    const paths = new Map(packages.map((p) => [p.name, join(this.debDir, debFileName(p))]));
    const missing = packages.filter((p) => !existsSync(paths.get(p.name)!));
    if (missing.length === 0) return paths;
    const mb = (missing.reduce((n, p) => n + p.size, 0) / 1e6).toFixed(1);
    this.options.log?.(
      `debian: downloading ${missing.length} ${this.debArch} packages (${mb} MB): ${missing.map((p) => p.name).join(', ')}`,
    );
    try {
      await downloadAll(
        missing.map((p) => ({
          url: `${p.mirror}/${p.filename}`,
          dest: paths.get(p.name)!,
          size: p.size,
          sha256: p.sha256,
        })),
        { fetch: this.options.fetch, onProgress: this.progress('packages') },
      );
    } finally {
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
      hash.update(`${s.id}\0`).update(await readFile(this.files.inReleasePath(s)));
    return hash.digest('hex').slice(0, 16);
  }

  private source(id: string): DebianSource {
    const source = this.sources.find((s) => s.id === id);
    if (!source)
      throw new ResolutionError(`no source ${id} among ${this.sources.map((s) => s.id).join(', ')}`);
    return source;
  }

  private missing(names: string[]): Error {
    return new ResolutionError(
      `the ${this.debArch} indices of ${this.sources.map((s) => s.suite).join(', ')} have no package named ${names.join(', ')}`,
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
      const pct = total ? Math.floor((100 * done) / total) : 100;
      status(`debian: ${what} ${(done / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB (${pct}%)`);
    };
  }

  private async archiveKeys(): Promise<ArchiveKeys> {
    this.keys ??= await loadArchiveKeys(this.options.keysFile);
    return this.keys;
  }

  private async fetchRelease(source: DebianSource, keys: ArchiveKeys) {
    const url = `${source.mirror}/dists/${source.suite}/InRelease`;
    let response: Response;
    try {
      response = await (this.options.fetch ?? fetch)(url, { signal: AbortSignal.timeout(60_000) });
    } catch (error) {
      throw new FetchError(url, describeNetworkError(error));
    }
    if (!response.ok)
      throw new FetchError(url, `HTTP ${response.status} ${response.statusText}`, response.status);
    const text = await response.text();
    const now = (this.options.now ?? (() => new Date()))();
    const release = await verifyInRelease(text, keys, { url, suite: source.suite, now });
    await this.refuseOlder(source, release);
    return { source, release, text };
  }

  /**
   * Refuses a release older than the one already stored: a mirror that replays an old signed file, which
   * Valid-Until alone cannot catch (only the security suite has one), as apt refuses it.
   */
  private async refuseOlder(source: DebianSource, release: Release): Promise<void> {
    const stored = await readFile(this.files.inReleasePath(source), 'utf8').catch(() => undefined);
    const date = stored === undefined ? undefined : /^Date: (.+)$/m.exec(stored)?.[1];
    if (date && release.date.getTime() < new Date(date).getTime()) {
      throw new VerificationError(
        release.url,
        `a release no older than the one cached (dated ${new Date(date).toISOString()})`,
        `one dated ${release.date.toISOString()} (the mirror is stale, or replays an old file)`,
      );
    }
  }

  private async packageIndex(): Promise<PackageIndex> {
    if (this.index) return this.index;
    const records: PackageRecord[] = [];
    for (const source of this.sources) {
      const path = await this.files.stored(source);
      if (!path) throw new Error(`no index for ${source.id}: ensureIndices() first`);
      records.push(...parsePackages(await this.files.read(path), source.id));
    }
    this.index = new PackageIndex(this.debArch, records);
    return this.index;
  }

  /** A value kept in `file` for as long as the stored indices (and `what`) stay the same. */
  private async memoised<T>(file: string, what: string, compute: () => Promise<T>): Promise<T> {
    const path = join(this.root, file);
    const key = `2:${await this.fingerprint()}:${what}`; // 2: the memo's own format (origins, no mirrors)
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

/** apt's own file name for a package (`:` in an epoch written `%3a`: Windows allows no `:` in a name). */
export function debFileName(p: Pick<PackageRecord, 'name' | 'version' | 'arch'>): string {
  return `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.arch}.deb`;
}
