import { posix } from 'node:path';
import type { PackageTree } from './deb.ts';

/** Unpacked packages by name, searched in name order, so that the answer never depends on the host. */
export type Trees = ReadonlyMap<string, PackageTree>;

/** The first of `paths` that some package has (a symlink counts), and that package's tree. */
export function findInTrees(
  trees: Trees,
  paths: readonly string[],
): { tree: PackageTree; path: string } | undefined {
  for (const name of [...trees.keys()].sort()) {
    const tree = trees.get(name)!;
    for (const path of paths) if (tree.has(path)) return { tree, path };
  }
  return undefined;
}

/**
 * A file's contents, following symlinks inside its own package (an absolute target is read from the
 * package's root, never from the host's).
 */
export function readInTree(tree: PackageTree, path: string, depth = 0): Buffer {
  const entry = tree.get(path);
  if (!entry) throw new Error(`${path}: not in the package`);
  if (entry.type === 'file') return entry.data;
  if (entry.type === 'dir') throw new Error(`${path}: a directory`);
  if (depth > 8) throw new Error(`${path}: a symlink loop`);
  const next = entry.target.startsWith('/')
    ? posix.normalize(entry.target).slice(1)
    : posix.normalize(posix.join(posix.dirname(path), entry.target));
  return readInTree(tree, next, depth + 1);
}

/** The files under a folder of a tree, in path order. */
export function filesUnder(tree: PackageTree, dir: string): string[] {
  const prefix = `${dir.replace(/\/+$/, '')}/`;
  return [...tree.keys()].filter((p) => p.startsWith(prefix) && tree.get(p)!.type === 'file').sort();
}
