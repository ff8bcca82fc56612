/**
 * Decompresses LZ4's legacy frame format (magic 0x184C2102), the one Linux uses for an LZ4-compressed
 * bzImage payload: a sequence of (uint32 LE compressed size, LZ4 block) until the data ends or the size
 * no longer fits (the kernel appends the uncompressed length after the last block).
 */
export function lz4LegacyDecompress(input: Buffer): Buffer {
  if (input.readUInt32LE(0) !== 0x184c2102) throw new Error('not an LZ4 legacy frame');
  const out: Buffer[] = [];
  let pos = 4;
  while (pos + 4 <= input.length) {
    const size = input.readUInt32LE(pos);
    if (size === 0 || size === 0x184c2102 || pos + 4 + size > input.length) break;
    out.push(lz4Block(input.subarray(pos + 4, pos + 4 + size), 8 * 1024 * 1024));
    pos += 4 + size;
  }
  return Buffer.concat(out);
}

/** One LZ4 block: tokens of literal length and match length, literals, 2-byte back-references. */
function lz4Block(src: Buffer, maxOut: number): Buffer {
  const dst = Buffer.allocUnsafe(maxOut);
  let s = 0;
  let d = 0;
  while (s < src.length) {
    const token = src[s++]!;
    let lit = token >> 4;
    if (lit === 15) {
      let b;
      do {
        b = src[s++]!;
        lit += b;
      } while (b === 255);
    }
    src.copy(dst, d, s, s + lit);
    s += lit;
    d += lit;
    if (s >= src.length) break; // the last sequence has literals only
    const offset = src[s]! | (src[s + 1]! << 8);
    s += 2;
    let len = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b;
      do {
        b = src[s++]!;
        len += b;
      } while (b === 255);
    }
    let from = d - offset;
    if (offset >= len) {
      dst.copy(dst, d, from, from + len);
      d += len;
    } else {
      while (len-- > 0) dst[d++] = dst[from++]!;
    }
  }
  return dst.subarray(0, d);
}

/**
 * The uncompressed kernel (vmlinux, an ELF) inside an x86 bzImage whose payload is LZ4, or undefined for
 * other compressions. QEMU boots it directly through its PVH entry, skipping the in-guest decompression.
 */
export function vmlinuxFromBzImage(bzImage: Buffer): Buffer | undefined {
  const magic = Buffer.from([0x02, 0x21, 0x4c, 0x18]);
  const at = bzImage.indexOf(magic);
  if (at < 0) return undefined;
  const elf = lz4LegacyDecompress(bzImage.subarray(at));
  return elf.readUInt32BE(0) === 0x7f454c46 ? elf : undefined;
}
