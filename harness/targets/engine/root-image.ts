import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { create as createTar } from 'tar';
import type { Arch } from '../../image/arch.ts';
import { debianPackageFile } from '../../image/debian/package-file.ts';
import type { DockerCli } from './docker-cli.ts';

/** The folders of the one-file root besides /bin/sh: where the runtime mounts things (as one-file-root.ts). */
const ROOT_DIRS = ['bin', 'proc', 'dev', 'sys', 'tmp', 'nslab', 'nslab-run'];

/**
 * The engine's image of one file: Debian's static busybox for the engine's architecture as /bin/sh (the
 * docker runtime's "scratch" root, but taken from the verified Debian archive, so that a Mac hands an
 * aarch64 Linux binary to its engine), imported with `docker import` (no registry) and tagged by the
 * binary's SHA-256, so that it is made once per engine.
 */
export async function ensureRootImage(
  docker: DockerCli,
  arch: Arch,
  cacheRoot: string,
  log?: (line: string) => void,
): Promise<string> {
  const busybox = await debianPackageFile('busybox-static', 'bin/busybox', { arch, cacheRoot, log });
  const sum = createHash('sha256').update(busybox.data).digest('hex');
  const tag = `nslab-engine-root:${sum.slice(0, 12)}`;
  if ((await docker.run(['image', 'inspect', '--format', '{{.Id}}', tag])).exitCode === 0) return tag;
  const dir = await mkdtemp(join(tmpdir(), 'nslab-engine-root-'));
  try {
    for (const d of ROOT_DIRS) await mkdir(join(dir, d), { recursive: true });
    await writeFile(join(dir, 'bin', 'sh'), busybox.data);
    await chmod(join(dir, 'bin', 'sh'), 0o755);
    // portable: no uid, gid or owner names of this host in the layer.
    const tar = createTar({ cwd: dir, portable: true }, ROOT_DIRS);
    const r = await docker.run(
      [
        'import',
        '-m',
        `nslab: busybox-static ${busybox.version} (${arch}) as /bin/sh, nothing else`,
        '-',
        tag,
      ],
      { input: Readable.from(tar) },
    );
    if (r.exitCode !== 0) throw new Error(`docker import of the one-file root failed: ${r.stderr.trim()}`);
    log?.(`engine: imported ${tag} (busybox-static ${busybox.version}, ${arch})`);
    return tag;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
