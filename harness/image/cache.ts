import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { EnvironmentError } from '../errors.ts';
import { IMAGE_NAME, type BuiltImage, type ImageFile, type ImageManifest } from './manifest.ts';

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function describeFile(dir: string, name: string): Promise<ImageFile> {
  const path = join(dir, name);
  return { name, size: (await stat(path)).size, sha256: await sha256File(path) };
}

/** The three files LinuxKit itself produces for `--format kernel+initrd`. */
export const imageFileNames = (name = IMAGE_NAME) => ({
  kernel: `${name}-kernel`,
  initrd: `${name}-initrd.img`,
  cmdline: `${name}-cmdline`,
});

/** The extra file nslab adds for x86_64: the decompressed kernel. */
export const vmlinuxName = (name = IMAGE_NAME) => `${name}-vmlinux`;

/**
 * Reads an image folder and checks every file against the digests in its manifest.
 * Throws with what is wrong: a missing file, or a size or digest that does not match.
 */
export async function readManifest(dir: string): Promise<ImageManifest> {
  try {
    return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  } catch (error) {
    throw new EnvironmentError(`${dir}: no readable manifest.json (${(error as Error).message})`);
  }
}

function imageFiles(manifest: ImageManifest): ImageFile[] {
  const files = [manifest.files.kernel, manifest.files.initrd, manifest.files.cmdline];
  if (manifest.files.vmlinux) files.push(manifest.files.vmlinux);
  return files;
}

/**
 * Hashing ~80 MB on every run costs ~0.2 s: a full check runs only when some file's size, mtime or inode
 * changed since the last check that passed, recorded in this stamp beside the files. Damage is still caught.
 */
function verifiedStamp(dir: string, files: ImageFile[]): string {
  return files
    .map((f) => {
      const path = join(dir, f.name);
      if (!existsSync(path)) throw new EnvironmentError(`${dir}: ${f.name} is missing`);
      const st = statSync(path);
      return `${f.name}:${f.sha256}:${st.size}:${st.mtimeMs}:${st.ino}`;
    })
    .join('\n');
}

const STAMP = '.verified';

export async function openImageDir(dir: string, cacheHit = true): Promise<BuiltImage> {
  const manifest = await readManifest(dir);
  const files = imageFiles(manifest);
  const stampFile = join(dir, STAMP);
  const stamp = verifiedStamp(dir, files);
  if ((await readFile(stampFile, 'utf8').catch(() => '')) !== stamp) {
    for (const f of files) {
      const actual = await describeFile(dir, f.name);
      if (actual.size !== f.size || actual.sha256 !== f.sha256) {
        throw new EnvironmentError(
          `${dir}: ${f.name} does not match its manifest digest (damaged or changed)`,
        );
      }
    }
    await writeFileAtomic(stampFile, stamp).catch(() => undefined); // a read-only image folder is fine
  }
  return {
    dir,
    kernel: join(dir, manifest.files.kernel.name),
    bootKernel: join(dir, (manifest.files.vmlinux ?? manifest.files.kernel).name),
    initrd: join(dir, manifest.files.initrd.name),
    cmdline: (await readFile(join(dir, manifest.files.cmdline.name), 'utf8')).trim(),
    manifest,
    cacheHit,
  };
}

/** A cached image when it is there and intact; a damaged entry is removed so that it gets rebuilt. */
export async function cachedImage(
  cacheRoot: string,
  digest: string,
  log: (l: string) => void,
): Promise<BuiltImage | undefined> {
  const dir = join(cacheRoot, digest);
  if (!existsSync(dir)) return undefined;
  try {
    return await openImageDir(dir, true);
  } catch (error) {
    log(`image cache: ${(error as Error).message}; rebuilding`);
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
}

/** Moves a finished build into the cache in one rename, so that a cache entry is never half-written. */
export async function commitImage(tmpDir: string, cacheRoot: string, digest: string): Promise<string> {
  const dir = join(cacheRoot, digest);
  await rm(dir, { recursive: true, force: true });
  await rename(tmpDir, dir);
  // The builder hashed these files for the manifest a moment ago: mark them checked, not hashed twice.
  await writeFileAtomic(join(dir, STAMP), verifiedStamp(dir, imageFiles(await readManifest(dir))));
  return dir;
}

export async function listImages(cacheRoot: string): Promise<ImageManifest[]> {
  if (!existsSync(cacheRoot)) return [];
  const out: ImageManifest[] = [];
  for (const d of await readdir(cacheRoot)) {
    try {
      out.push(JSON.parse(await readFile(join(cacheRoot, d, 'manifest.json'), 'utf8')));
    } catch {
      // not an image folder (apt cache, temporary build)
    }
  }
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** Removes every cached image except the `keep` newest, and leftover temporary builds. */
export async function pruneImages(cacheRoot: string, keep: number): Promise<string[]> {
  const images = await listImages(cacheRoot);
  const removed: string[] = [];
  for (const m of images.slice(keep)) {
    await rm(join(cacheRoot, m.digest), { recursive: true, force: true });
    removed.push(m.digest);
  }
  if (existsSync(cacheRoot)) {
    for (const d of await readdir(cacheRoot)) {
      if (d.startsWith('.build-')) {
        await rm(join(cacheRoot, d), { recursive: true, force: true });
        removed.push(d);
      }
    }
  }
  return removed;
}
