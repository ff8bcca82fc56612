import { gzipSync } from 'node:zlib';

/** One entry of an initramfs: the kernel's "newc" cpio format, the one initramfs reads. */
export interface CpioEntry {
  /** Path inside the archive, without a leading slash. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'char';
  /** Permission bits, e.g. 0o755. */
  mode: number;
  uid?: number;
  gid?: number;
  /** File contents, or the symlink's target. */
  data?: Uint8Array | string;
  /** Device major and minor, for 'char'. */
  rdev?: [number, number];
}

const TYPE_BITS = { file: 0o100000, dir: 0o040000, symlink: 0o120000, char: 0o020000 } as const;

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** Builds a newc archive (uncompressed). Entries keep their order; parents should come before children. */
export function cpioArchive(entries: readonly CpioEntry[]): Buffer {
  const chunks: Buffer[] = [];
  let ino = 1;
  const push = (
    name: string,
    mode: number,
    uid: number,
    gid: number,
    body: Buffer,
    nlink: number,
    rdev = [0, 0],
  ) => {
    const nameBuf = Buffer.from(`${name}\0`, 'utf8');
    // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
    const fields = [
      ino++,
      mode,
      uid,
      gid,
      nlink,
      0,
      body.length,
      0,
      0,
      rdev[0]!,
      rdev[1]!,
      nameBuf.length,
      0,
    ];
    const header = '070701' + fields.map(hex8).join('');
    chunks.push(Buffer.from(header, 'ascii'), nameBuf, Buffer.alloc(pad4(110 + nameBuf.length)));
    chunks.push(body, Buffer.alloc(pad4(body.length)));
  };
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, '');
    const body = e.type === 'dir' || e.type === 'char' ? Buffer.alloc(0) : Buffer.from(e.data ?? '');
    push(
      path,
      TYPE_BITS[e.type] | (e.mode & 0o7777),
      e.uid ?? 0,
      e.gid ?? 0,
      body,
      e.type === 'dir' ? 2 : 1,
      e.rdev,
    );
  }
  push('TRAILER!!!', 0, 0, 0, Buffer.alloc(0), 1);
  return Buffer.concat(chunks);
}

/** A gzip-compressed newc archive: what an initrd (or a piece appended to one) is. */
export function cpioGz(entries: readonly CpioEntry[], level = 6): Buffer {
  return gzipSync(cpioArchive(entries), { level });
}
