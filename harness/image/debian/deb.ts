import { compressionOf, decompress } from './decompress.ts';
import { VerificationError } from './verification-error.ts';

/** One entry of a package's file tree, as `dpkg-deb -x` would write it. */
export type TreeEntry =
  | { type: 'file'; mode: number; data: Buffer }
  | { type: 'dir'; mode: number }
  | { type: 'symlink'; target: string };

/** A package's files by path relative to `/` (`usr/bin/unshare`), held in memory: nothing is written. */
export type PackageTree = Map<string, TreeEntry>;

/**
 * The members of an `ar` archive, the container a .deb is (deb(5)): a `!<arch>\n` magic, then for each
 * member a 60-byte header (name, mtime, ids, mode, decimal size, "`\n") and the data, padded to even.
 * Small enough that no library is worth it.
 */
export function arMembers(deb: Buffer, file: string): Map<string, Buffer> {
  if (deb.subarray(0, 8).toString('latin1') !== '!<arch>\n')
    throw new VerificationError(file, 'a Debian package (an ar archive)', 'another kind of file');
  const members = new Map<string, Buffer>();
  let at = 8;
  while (at + 60 <= deb.length) {
    const header = deb.subarray(at, at + 60).toString('latin1');
    if (header.slice(58, 60) !== '`\n')
      throw new VerificationError(file, `an ar member header at byte ${at}`, 'bytes that are not one');
    const name = header.slice(0, 16).trim().replace(/\/$/, '');
    const sizeText = header.slice(48, 58).trim();
    if (!/^\d+$/.test(sizeText))
      throw new VerificationError(file, `a decimal size in the ar header of ${name}`, `"${sizeText}"`);
    const size = Number(sizeText);
    if (at + 60 + size > deb.length)
      throw new VerificationError(
        file,
        `${size} bytes of ${name}`,
        `${deb.length - at - 60} (the file is cut)`,
      );
    members.set(name, deb.subarray(at + 60, at + 60 + size));
    at += 60 + size + (size % 2);
  }
  return members;
}

/** The data part of a .deb (its files), unpacked into memory. */
export async function unpackDeb(deb: Buffer, file: string): Promise<PackageTree> {
  const members = arMembers(deb, file);
  const name = [...members.keys()].find((m) => m.startsWith('data.tar'));
  if (!name) throw new VerificationError(file, 'a data.tar member', `only ${[...members.keys()].join(', ')}`);
  const tar = await decompress(members.get(name)!, compressionOf(name));
  return readTar(tar, file);
}

/**
 * The entries of a tar archive (dpkg writes GNU tar, with long names), read with node-tar's parser (the one
 * npm itself uses): ustar, GNU and pax headers are its job. Hard links get their target's data.
 */
export async function readTar(tar: Buffer, file: string): Promise<PackageTree> {
  const { Parser } = await import('tar');
  const tree: PackageTree = new Map();
  const links: { path: string; target: string }[] = [];
  const warnings: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      strict: true,
      onwarn: (_code: string, message: string) => warnings.push(message),
      onReadEntry: (entry) => {
        const path = normalise(entry.path);
        const mode = (entry.mode ?? 0) & 0o7777;
        if (entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile') {
          const chunks: Buffer[] = [];
          entry.on('data', (c: Buffer) => chunks.push(c));
          entry.on('end', () => tree.set(path, { type: 'file', mode, data: Buffer.concat(chunks) }));
          return;
        }
        if (entry.type === 'Directory') {
          if (path !== '') tree.set(path, { type: 'dir', mode });
        } else if (entry.type === 'SymbolicLink') {
          tree.set(path, { type: 'symlink', target: entry.linkpath ?? '' });
        } else if (entry.type === 'Link') {
          links.push({ path, target: normalise(entry.linkpath ?? '') });
        }
        entry.resume();
      },
    });
    parser.on('error', reject);
    parser.on('end', () => resolve());
    parser.end(tar);
  });
  if (warnings.length > 0) throw new VerificationError(file, 'a readable tar archive', warnings.join('; '));
  for (const l of links) {
    const target = tree.get(l.target);
    if (target) tree.set(l.path, target);
  }
  return tree;
}

/** `./usr/bin/x` and `usr/bin/x/` both become `usr/bin/x`. */
function normalise(path: string): string {
  return path
    .replace(/^(\.\/)+/, '')
    .replace(/^\/+/, '')
    .replace(/\/+$/, '');
}
