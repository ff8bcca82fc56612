import { createHash } from 'node:crypto';
import {
  chmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_IMAGE_CACHE } from '../../cli/paths.ts';
import { projectImage } from '../../../test/helpers/image.ts';
import { findOnPath, skipNote } from '../../../test/helpers/tools.ts';
import { arMembers, unpackDeb, type PackageTree } from './deb.ts';
import { debFileName } from './archive.ts';

// dpkg-deb is the oracle: what it writes with -x is what nslab's own unpacker must hold in memory.
const dpkgDeb = findOnPath('dpkg-deb');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-deb-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A tree as `dpkg-deb -x` wrote it to disk, in the unpacker's terms. */
function onDisk(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      const rel = relative(root, p);
      if (st.isSymbolicLink()) out[rel] = `symlink ${readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[rel] = `dir ${(st.mode & 0o7777).toString(8)}`;
        walk(p);
      } else out[rel] = `file ${(st.mode & 0o7777).toString(8)} ${sha(readFileSync(p))}`;
    }
  };
  walk(root);
  return out;
}

function inMemory(tree: PackageTree): Record<string, string> {
  return Object.fromEntries(
    [...tree].map(([p, e]) => [
      p,
      e.type === 'symlink'
        ? `symlink ${e.target}`
        : e.type === 'dir'
          ? `dir ${e.mode.toString(8)}`
          : `file ${e.mode.toString(8)} ${sha(e.data)}`,
    ]),
  );
}

async function compareWithDpkg(deb: string): Promise<number> {
  const to = mkdtempSync(join(dir, 'x-'));
  await execa('dpkg-deb', ['-x', deb, to]);
  const expected = onDisk(to);
  const got = inMemory(await unpackDeb(readFileSync(deb), deb));
  expect(got).toEqual(expected);
  return Object.keys(expected).length;
}

describe.runIf(dpkgDeb)(
  `unpacking .deb files in memory${skipNote(dpkgDeb, 'dpkg-deb is not on PATH, the oracle')}`,
  () => {
    it('holds exactly what dpkg-deb -x writes, for every compression dpkg-deb builds (xz, zstd, gzip, none)', async () => {
      // A package with what a real one can hold: nested folders and their modes, a setuid file, a symlink
      // (relative and absolute), a hard link, and a path longer than ustar's 100 characters.
      const src = join(dir, 'src');
      mkdirSync(join(src, 'DEBIAN'), { recursive: true });
      writeFileSync(
        join(src, 'DEBIAN', 'control'),
        'Package: t\nVersion: 1\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n',
      );
      const long = join(src, 'usr', 'share', 'a'.repeat(60), 'b'.repeat(60));
      mkdirSync(long, { recursive: true });
      writeFileSync(join(long, 'deep.txt'), 'deep\n');
      mkdirSync(join(src, 'usr', 'bin'), { recursive: true });
      writeFileSync(join(src, 'usr', 'bin', 'tool'), '#!/bin/sh\necho hi\n');
      chmodSync(join(src, 'usr', 'bin', 'tool'), 0o4755);
      linkSync(join(src, 'usr', 'bin', 'tool'), join(src, 'usr', 'bin', 'tool-hard'));
      symlinkSync('tool', join(src, 'usr', 'bin', 'tool-rel'));
      symlinkSync('/usr/bin/tool', join(src, 'usr', 'bin', 'tool-abs'));
      mkdirSync(join(src, 'etc', 'private'), { recursive: true });
      chmodSync(join(src, 'etc', 'private'), 0o700);
      for (const z of ['xz', 'zstd', 'gzip', 'none']) {
        const deb = join(dir, `t-${z}.deb`);
        await execa('dpkg-deb', ['--root-owner-group', `-Z${z}`, '--build', src, deb]);
        const member = [...arMembers(readFileSync(deb), deb).keys()].find((m) => m.startsWith('data.tar'));
        expect(member).toBe(
          { xz: 'data.tar.xz', zstd: 'data.tar.zst', gzip: 'data.tar.gz', none: 'data.tar' }[z],
        );
        expect(await compareWithDpkg(deb)).toBe(12);
      }
    });

    it("holds exactly what dpkg-deb -x writes for the image's real packages, the kernel among them", async () => {
      const image = await projectImage('x86_64');
      const debs = join(DEFAULT_IMAGE_CACHE, 'debian', 'amd64', 'debs');
      const names = [
        'busybox-static',
        'util-linux',
        'libc6',
        'dropbear-bin',
        image.manifest.packages &&
          Object.keys(image.manifest.packages).find((n) => n.startsWith('linux-image-'))!,
      ];
      let entries = 0;
      for (const name of names) {
        const version = image.manifest.packages![name]!;
        entries += await compareWithDpkg(join(debs, debFileName({ name, version, arch: 'amd64' })));
      }
      expect(entries).toBeGreaterThan(1500);
    }, 120_000);
  },
);

describe('a file that is not a .deb', () => {
  it('is refused with its name and what was wrong', async () => {
    await expect(unpackDeb(Buffer.from('hello world, not an archive'), 'x.deb')).rejects.toThrow(
      'x.deb: expected a Debian package (an ar archive), got another kind of file',
    );
    const deb = Buffer.concat([
      Buffer.from('!<arch>\n'),
      Buffer.from('debian-binary/  0           0     0     100644  4         `\n'),
      Buffer.from('2.'),
    ]);
    await expect(unpackDeb(deb, 'cut.deb')).rejects.toThrow(
      'cut.deb: expected 4 bytes of debian-binary, got 2 (the file is cut)',
    );
  });
});
