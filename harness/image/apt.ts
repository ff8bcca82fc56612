import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { EnvironmentError } from '../errors.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';

/**
 * A private apt state for one Debian architecture (its own package lists and .deb cache), so that images for
 * another architecture can be assembled without `dpkg --add-architecture` or any change to the host.
 * Packages are only downloaded and unpacked, never installed or run.
 */
export class AptCache {
  readonly root: string;
  readonly debArch: string;

  constructor(root: string, debArch: string) {
    this.root = root;
    this.debArch = debArch;
  }

  private get options(): string[] {
    return [
      '-o', `Dir::State::Lists=${join(this.root, 'lists')}`,
      '-o', `Dir::Cache=${join(this.root, 'cache')}`,
      '-o', `APT::Architecture=${this.debArch}`,
      '-o', `APT::Architectures::=${this.debArch}`,
      '-o', 'Debug::NoLocking=1',
      '-o', 'APT::Sandbox::User=root',
      '-q',
    ]; // prettier-ignore
  }

  get debDir(): string {
    return join(this.root, 'debs');
  }

  /** Fetches the package lists when there are none yet (or when asked); offline otherwise. */
  async ensureLists(refresh: boolean, log: (line: string) => void): Promise<void> {
    const lists = join(this.root, 'lists');
    const have = existsSync(lists) && (await readdir(lists)).some((f) => f.includes('_Packages'));
    if (have && !refresh) return;
    await mkdir(join(lists, 'partial'), { recursive: true });
    await mkdir(join(this.root, 'cache', 'archives', 'partial'), { recursive: true });
    log(`apt: fetching ${this.debArch} package lists into ${lists}`);
    const r = await execa('apt-get', [...this.options, 'update'], { reject: false, all: true });
    if (r.exitCode !== 0) {
      throw new EnvironmentError(
        `apt-get update for ${this.debArch} failed: ${String(r.all).trim().split('\n').slice(-3).join(' / ')}`,
        'the debian builder needs a Debian mirror the first time; after that it works offline',
      );
    }
  }

  /** Changes when the package lists change: what package resolution depends on. */
  async listsFingerprint(): Promise<string> {
    const lists = join(this.root, 'lists');
    const hash = createHash('sha256');
    for (const f of (await readdir(lists))
      .filter((f) => f.includes('_Packages') || f.endsWith('Release'))
      .sort()) {
      const s = await stat(join(lists, f));
      hash.update(`${f}\0${s.size}\0${s.mtimeMs}\n`);
    }
    return hash.digest('hex').slice(0, 16);
  }

  /** The candidate version of each package; one apt-cache call, memoised by the lists' fingerprint. */
  /**
   * An apt-cache answer kept in `file` for as long as the package lists (and `what`) stay the same: apt-cache
   * costs ~0.7 s a call, and a cache hit must cost almost nothing.
   */
  private async memoised<T>(file: string, what: string, compute: () => Promise<T>): Promise<T> {
    const path = join(this.root, file);
    const key = `2:${await this.listsFingerprint()}:${what}`; // 2: the memo's own format
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

  /** The candidate version of each package, from one apt-cache call. */
  resolve(names: readonly string[]): Promise<Record<string, string>> {
    return this.memoised('resolved.json', [...names].sort().join(','), () => this.policy(names));
  }

  private async policy(names: readonly string[]): Promise<Record<string, string>> {
    const r = await execa('apt-cache', [...this.options, 'policy', ...names], { reject: false });
    const versions: Record<string, string> = {};
    let current = '';
    for (const line of r.stdout.split('\n')) {
      const pkg = /^(\S+):$/.exec(line);
      if (pkg) current = pkg[1]!.replace(`:${this.debArch}`, '');
      const cand = /^\s+Candidate: (\S+)/.exec(line);
      if (cand && cand[1] !== '(none)') versions[current] = cand[1]!;
    }
    const missing = names.filter((n) => !versions[n]);
    if (missing.length > 0) {
      throw new EnvironmentError(
        `no ${this.debArch} package found for: ${missing.join(', ')}`,
        'check the Debian release (bookworm package names), or refresh the lists with --refresh',
      );
    }
    return versions;
  }

  /** What a metapackage such as linux-image-cloud-amd64 points at. */
  dependsOf(name: string): Promise<string[]> {
    return this.memoised(`depends-${name}.json`, name, async () => {
      const r = await execa('apt-cache', [...this.options, 'depends', name], { reject: false });
      return [...r.stdout.matchAll(/^\s+Depends: (\S+)/gm)].map((m) => m[1]!);
    });
  }

  /** Path of each package's .deb in the cache, downloading only the ones that are missing. */
  async download(
    versions: Record<string, string>,
    log: (line: string) => void,
  ): Promise<Record<string, string>> {
    await mkdir(this.debDir, { recursive: true });
    const have = new Set(await readdir(this.debDir));
    const fileName = (name: string, version: string) =>
      `${name}_${version.replace(/:/g, '%3a')}_${this.debArch}.deb`;
    const alt = (name: string, version: string) => `${name}_${version.replace(/:/g, '%3a')}_all.deb`;
    const missing = Object.entries(versions).filter(
      ([n, v]) => !have.has(fileName(n, v)) && !have.has(alt(n, v)),
    );
    if (missing.length > 0) {
      log(
        `apt: downloading ${missing.length} ${this.debArch} packages: ${missing.map(([n]) => n).join(', ')}`,
      );
      const r = await execa(
        'apt-get',
        [...this.options, 'download', ...missing.map(([n, v]) => `${n}=${v}`)],
        {
          cwd: this.debDir,
          reject: false,
          all: true,
        },
      );
      if (r.exitCode !== 0) {
        throw new EnvironmentError(
          `apt-get download failed: ${String(r.all).trim().split('\n').slice(-3).join(' / ')}`,
          'the packages are not in the cache and the mirror is not reachable',
        );
      }
    }
    const now = new Set(await readdir(this.debDir));
    return Object.fromEntries(
      Object.entries(versions).map(([n, v]) => [
        n,
        join(this.debDir, now.has(fileName(n, v)) ? fileName(n, v) : alt(n, v)),
      ]),
    );
  }
}
