import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_IMAGE_CACHE, DEFAULT_LINUXKIT_YML } from '../../cli/paths.ts';
import { buildImage } from '../build.ts';
import { DEBIAN_PACKAGES } from '../debian-builder.ts';
import { projectImage } from '../../../test/helpers/image.ts';
import { mirrorFromCache, serveMirror, type LocalMirror } from '../../../test/helpers/local-mirror.ts';
import { DebianArchive, type PackageRef } from './archive.ts';
import { bookwormSources, DEFAULT_MIRRORS } from './sources.ts';
import { VerificationError } from './verification-error.ts';

// Verification against real files: a mirror on 127.0.0.1 serving the InRelease, index and .deb files that
// nslab fetched from Debian's archive into the project's package cache, altered on disk where a test says.
const KERNEL_META = 'linux-image-cloud-amd64';
let work: string;
let refs: PackageRef[];
let busybox: PackageRef;

beforeAll(async () => {
  await projectImage('x86_64'); // fills vm-images/debian/amd64 from the real archive (once)
  const project = new DebianArchive(
    join(DEFAULT_IMAGE_CACHE, 'debian', 'amd64'),
    'amd64',
    bookwormSources(DEFAULT_MIRRORS),
  );
  refs = (await project.resolve(DEBIAN_PACKAGES, KERNEL_META)).packages;
  busybox = refs.find((r) => r.name === 'busybox-static')!;
  work = mkdtempSync(join(tmpdir(), 'nslab-archive-'));
}, 300_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

let mirror: LocalMirror | undefined;
afterEach(async () => {
  await mirror?.close();
  mirror = undefined;
});

/** A fresh mirror (copies of the real files, `alter` applied on disk) and an empty cache reading from it. */
async function setUp(name: string, packages: PackageRef[], alter?: (root: string) => void, now?: Date) {
  const root = join(work, name, 'mirror');
  mirrorFromCache(join(DEFAULT_IMAGE_CACHE, 'debian', 'amd64'), 'amd64', root, packages);
  alter?.(root);
  mirror = await serveMirror(root);
  const cache = join(work, name, 'cache');
  const archive = new DebianArchive(
    cache,
    'amd64',
    bookwormSources(mirror.mirrors),
    now ? { now: () => now } : {},
  );
  /** The package as this mirror's indices name it (its URL is the local mirror's). */
  const local = async (ref: PackageRef) => {
    await archive.ensureIndices(false);
    return (await archive.resolve(DEBIAN_PACKAGES, KERNEL_META)).packages.find((p) => p.name === ref.name)!;
  };
  return { root, cache, archive, mirror, local };
}

/** Every file under a folder, relative paths: what a failed fetch must not leave. */
function filesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

const flipByte = (file: string, at: number) => {
  const b = readFileSync(file);
  b[at] = b[at]! ^ 0x01;
  writeFileSync(file, b);
};
const mirrorPath = (root: string, ref: PackageRef) =>
  join(root, ref.mirror.endsWith('-security') ? 'debian-security' : 'debian', ref.filename);
const inRelease = (root: string) => join(root, 'debian', 'dists', 'bookworm', 'InRelease');

describe("Debian's archive, fetched and verified by nslab", () => {
  it('from a true mirror: the same resolution as from deb.debian.org, indices by hash, packages verified', async () => {
    const { archive, cache, local } = await setUp('true', [busybox]);
    await archive.ensureIndices(false);
    const resolved = await archive.resolve(DEBIAN_PACKAGES, KERNEL_META);
    expect(resolved.packages.map((p) => [p.name, p.version, p.sha256])).toEqual(
      refs.map((p) => [p.name, p.version, p.sha256]),
    );
    expect(mirror!.requests.filter((r) => r.path.includes('/by-hash/SHA256/'))).toHaveLength(3);
    const ref = await local(busybox);
    expect(ref.mirror).toBe(mirror!.mirrors.debian);
    const paths = await archive.download([ref]);
    expect(readFileSync(paths.get('busybox-static')!).length).toBe(busybox.size);
    expect(filesIn(join(cache, 'debs'))).toEqual([
      `busybox-static_${busybox.version.replace(/:/g, '%3a')}_amd64.deb`,
    ]);
  });

  it('an InRelease with one byte changed: its signature fails, nothing is kept', async () => {
    const { archive, cache, mirror } = await setUp('inrelease-flip', [], (root) => {
      const text = readFileSync(inRelease(root), 'utf8');
      // A byte inside the signed text: the SHA256 of the index, as an attacker would change it.
      flipByte(inRelease(root), text.indexOf('main/binary-amd64/Packages.gz') - 20);
    });
    const error = await archive.ensureIndices(false).catch((e) => e);
    expect(error).toBeInstanceOf(VerificationError);
    expect(error.message).toMatch(
      new RegExp(
        `^${mirror.mirrors.debian}/dists/bookworm/InRelease: expected a signature by one of Debian's archive keys .*, got none that verifies \\(.*Signed digest did not match`,
      ),
    );
    expect(filesIn(cache)).toEqual([]);
  });

  it('an InRelease signed with a foreign key: refused, nothing is kept', async () => {
    const openpgp = await import('openpgp');
    const { privateKey } = await openpgp.generateKey({
      userIDs: [{ name: 'Not Debian' }],
      format: 'object',
      curve: 'ed25519Legacy',
    });
    const { cache, archive, mirror } = await setUp('foreign-key', [], () => {});
    const file = inRelease(join(work, 'foreign-key', 'mirror'));
    const original = await openpgp.readCleartextMessage({ cleartextMessage: readFileSync(file, 'utf8') });
    const resigned = await openpgp.sign({
      message: await openpgp.createCleartextMessage({ text: original.getText() }),
      signingKeys: privateKey,
    });
    writeFileSync(file, resigned);
    const error = await archive.ensureIndices(false).catch((e) => e);
    expect(error.message).toMatch(
      new RegExp(
        `^${mirror.mirrors.debian}/dists/bookworm/InRelease: expected a signature by one of Debian's archive keys .*, got none that verifies \\(${privateKey.getKeyID().toHex().toUpperCase()}: Could not find signing key`,
      ),
    );
    expect(filesIn(cache)).toEqual([]);
  });

  it('an InRelease past its Valid-Until: refused as a replay', async () => {
    const { archive } = await setUp('stale', [], undefined, new Date('2099-01-01T00:00:00Z'));
    await expect(archive.ensureIndices(false)).rejects.toThrow(
      /bookworm-security\/InRelease: expected a file valid at 2099-01-01T00:00:00.000Z, got one valid until 20\d\d-.* \(the mirror is stale, or replays an old file\)/,
    );
  });

  it('an index with one byte changed: its SHA256 does not match InRelease, nothing is kept', async () => {
    let index = '';
    const { archive, cache } = await setUp('index-flip', [], (root) => {
      const dir = join(root, 'debian', 'dists', 'bookworm', 'main', 'binary-amd64', 'by-hash', 'SHA256');
      index = readdirSync(dir)[0]!;
      flipByte(join(dir, index), 5000);
    });
    await expect(archive.ensureIndices(false)).rejects.toThrow(
      new RegExp(
        `/by-hash/SHA256/${index}: expected SHA256 ${index} \\(the signed index\\), got SHA256 (?!${index})[0-9a-f]{64}$`,
      ),
    );
    expect(filesIn(cache)).toEqual([]);
  });

  it('a cut index: the download is cut short, nothing is kept', async () => {
    let size = 0;
    const { archive, cache } = await setUp('index-cut', [], (root) => {
      const dir = join(root, 'debian', 'dists', 'bookworm', 'main', 'binary-amd64', 'by-hash', 'SHA256');
      const file = join(dir, readdirSync(dir)[0]!);
      size = readFileSync(file).length;
      truncateSync(file, 1_000_000);
    });
    await expect(archive.ensureIndices(false)).rejects.toThrow(
      `expected ${size} bytes (the signed index), got 1000000 (the download is cut short)`,
    );
    expect(filesIn(cache)).toEqual([]);
  });

  it('a .deb with one byte changed: its SHA256 does not match the index, nothing is kept', async () => {
    const { archive, cache, root, mirror, local } = await setUp('deb-flip', [busybox], (r) =>
      flipByte(mirrorPath(r, busybox), 100_000),
    );
    await expect(archive.download([await local(busybox)])).rejects.toThrow(
      new RegExp(
        `^${mirror.mirrors.debian}/${busybox.filename.replace(/[.+]/g, '\\$&')}: expected SHA256 ${busybox.sha256} \\(the signed index\\), got SHA256 [0-9a-f]{64}$`,
      ),
    );
    expect(filesIn(join(cache, 'debs'))).toEqual([]);
    expect(existsSync(mirrorPath(root, busybox))).toBe(true);
  });

  it('a cut .deb: the download is cut short, nothing is kept', async () => {
    const { archive, cache, local } = await setUp('deb-cut', [busybox], (r) =>
      truncateSync(mirrorPath(r, busybox), 4096),
    );
    await expect(archive.download([await local(busybox)])).rejects.toThrow(
      `expected ${busybox.size} bytes (the signed index), got 4096 (the download is cut short)`,
    );
    expect(filesIn(join(cache, 'debs'))).toEqual([]);
  });

  it('a transfer the connection drops half-way is resumed with a Range request, then verified', async () => {
    const { archive, cache, mirror, local } = await setUp('resume', [busybox]);
    const ref = await local(busybox);
    const path = `/debian/${busybox.filename}`;
    const half = Math.floor(busybox.size / 2);
    mirror.cutOnce(path, half);
    await archive.download([ref]);
    expect(mirror.requests.filter((r) => r.path === path)).toEqual([
      { path },
      { path, range: `bytes=${half}-` },
    ]);
    expect(filesIn(join(cache, 'debs'))).toEqual([
      `busybox-static_${busybox.version.replace(/:/g, '%3a')}_amd64.deb`,
    ]);
  });

  it('a cached .deb damaged on disk is caught when read back, and removed', async () => {
    const { archive, cache, local } = await setUp('damaged-cache', [busybox]);
    const path = (await archive.download([await local(busybox)])).get('busybox-static')!;
    flipByte(path, 10);
    await expect(archive.readVerified(busybox, path)).rejects.toThrow(
      `${path}: expected SHA256 ${busybox.sha256} (the signed index)`,
    );
    expect(filesIn(join(cache, 'debs'))).toEqual([]);
  });

  it('stops the whole build: exit 3 naming the file, no image and no half-built folder in the cache', async () => {
    const { root, mirror } = await setUp('build', refs, (r) => flipByte(mirrorPath(r, busybox), 200_000));
    const cacheRoot = join(work, 'build', 'images');
    const error = await buildImage({
      config: DEFAULT_LINUXKIT_YML,
      arch: 'x86_64',
      builder: 'debian',
      cacheRoot,
      mirrors: mirror.mirrors,
    }).catch((e) => e);
    expect(error).toMatchObject({
      exitCode: 3,
      message: `the Debian archive sent a file that fails verification: ${mirror.mirrors.debian}/${busybox.filename}: expected SHA256 ${busybox.sha256} (the signed index), got SHA256 ${error.cause?.got?.replace('SHA256 ', '')}`,
    });
    expect(readdirSync(cacheRoot).filter((f) => f !== 'debian')).toEqual([]);
    expect(
      filesIn(join(cacheRoot, 'debian', 'amd64', 'debs')).filter(
        (f) => f.startsWith('busybox') || f.startsWith('partial'),
      ),
    ).toEqual([]);
    expect(existsSync(root)).toBe(true);
  }, 120_000);

  it('an archive that does not answer: exit 3 naming the URL, and how to do without it', async () => {
    // A port that was just free: nothing listens there.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const cacheRoot = join(work, 'unreachable');
    const error = await buildImage({
      config: DEFAULT_LINUXKIT_YML,
      arch: 'x86_64',
      builder: 'debian',
      cacheRoot,
      mirrors: {
        debian: `http://127.0.0.1:${port}/debian`,
        security: `http://127.0.0.1:${port}/debian-security`,
      },
    }).catch((e) => e);
    expect(error.exitCode).toBe(3);
    expect(error.message).toMatch(
      new RegExp(
        `^cannot fetch from Debian's archive: http://127\\.0\\.0\\.1:${port}/debian(-security)?/dists/bookworm(-updates|-security)?/InRelease: fetch failed \\(ECONNREFUSED\\)$`,
      ),
    );
    expect(error.hint).toMatch(/--image DIR/);
    expect(error.hint).toMatch(/NSLAB_DEBIAN_MIRROR/);
  });
});
