import { copyFileSync, createReadStream, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, normalize } from 'node:path';
import type { PackageRef } from '../../harness/image/debian/archive.ts';
import { bookwormSources, type DebianMirrors } from '../../harness/image/debian/sources.ts';

/** A request the mirror served, as the tests check them. */
export interface MirrorRequest {
  path: string;
  range?: string;
}

export interface LocalMirror {
  /** The two mirror roots, as the fetcher takes them. */
  mirrors: DebianMirrors;
  requests: MirrorRequest[];
  /** The next response for `path` sends only its first `bytes` bytes (of a full Content-Length), then drops. */
  cutOnce(path: string, bytes: number): void;
  close(): Promise<void>;
}

/**
 * Serves a folder laid out as Debian's archive (`debian/dists/...`, `debian-security/...`) on 127.0.0.1 with
 * Range support: real files, served as they lie on disk (a test alters them there).
 */
export async function serveMirror(root: string): Promise<LocalMirror> {
  const requests: MirrorRequest[] = [];
  const cuts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push({ path, ...(req.headers.range ? { range: req.headers.range } : {}) });
    const file = join(root, normalize(path).replace(/^(\.\.[/\\])+/, ''));
    if (!existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    const size = statSync(file).size;
    const cut = cuts.get(path);
    if (cut !== undefined) {
      cuts.delete(path);
      res.writeHead(200, { 'content-length': size });
      createReadStream(file, { start: 0, end: cut - 1 })
        .on('end', () => res.socket?.destroy())
        .pipe(res, { end: false });
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      if (start >= size) {
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return;
      }
      res.writeHead(206, {
        'content-length': size - start,
        'content-range': `bytes ${start}-${size - 1}/${size}`,
      });
      if (req.method === 'HEAD') return void res.end();
      createReadStream(file, { start }).pipe(res);
      return;
    }
    res.writeHead(200, { 'content-length': size });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    mirrors: {
      debian: `http://127.0.0.1:${port}/debian`,
      security: `http://127.0.0.1:${port}/debian-security`,
    },
    requests,
    cutOnce: (path, bytes) => cuts.set(path, bytes),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * Lays out, under `dest`, a mirror made of the real files of a package cache that nslab filled from Debian's
 * archive (`archiveRoot`, e.g. vm-images/debian/amd64): each suite's signed InRelease and its index (by
 * hash), and the .deb files of `packages`. Copies, so that a test may alter them.
 */
export function mirrorFromCache(
  archiveRoot: string,
  debArch: string,
  dest: string,
  packages: readonly PackageRef[],
): void {
  const lists = join(archiveRoot, 'lists');
  for (const s of bookwormSources({ debian: 'debian', security: 'debian-security' })) {
    const dists = join(dest, s.mirror, 'dists', s.suite);
    mkdirSync(dists, { recursive: true });
    copyFileSync(join(lists, `${s.id}.InRelease`), join(dists, 'InRelease'));
    for (const f of readdirSync(lists).filter((f) => f.startsWith(`${s.id}.`) && f.includes('.Packages'))) {
      const hash = /\.([0-9a-f]{64})\.Packages/.exec(f)![1]!;
      const byHash = join(dists, s.component, `binary-${debArch}`, 'by-hash', 'SHA256');
      mkdirSync(byHash, { recursive: true });
      copyFileSync(join(lists, f), join(byHash, hash));
    }
  }
  for (const p of packages) {
    const mirror = p.mirror.endsWith('-security') ? 'debian-security' : 'debian';
    const to = join(dest, mirror, p.filename);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(join(archiveRoot, 'debs', `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.arch}.deb`), to);
  }
}
