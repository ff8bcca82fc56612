import { crc32 } from 'node:zlib';

/**
 * Splits a single-stream .xz file into standalone one-block .xz streams that decode independently, so that
 * the blocks of a large member (dpkg compresses with threads: a kernel package's data.tar.xz has several)
 * can be decoded on several threads at once, as `xz -T` does. Each piece gets the file's own stream header
 * and an index and footer written for its one block, from the sizes the file's index records (the
 * .xz file format, tukaani.org/xz/xz-file-format.txt, sections 2.1, 3 and 4). Returns undefined when the
 * file is not one stream of several blocks (concatenated streams, stream padding): decode it whole then. Pure.
 */
export function splitXzBlocks(file: Uint8Array): Uint8Array[] | undefined {
  const MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
  if (file.length < 32 || MAGIC.some((b, i) => file[i] !== b)) return undefined;
  const footer = file.subarray(file.length - 12);
  if (footer[10] !== 0x59 || footer[11] !== 0x5a) return undefined; // 'YZ'; else stream padding follows
  const flags = file.subarray(6, 8);
  if (footer[8] !== flags[0] || footer[9] !== flags[1]) return undefined;
  const backwardSize = (readUint32(footer, 4) + 1) * 4;
  const indexStart = file.length - 12 - backwardSize;
  if (indexStart < 12 || file[indexStart] !== 0x00) return undefined;
  let at = indexStart + 1;
  const vli = () => {
    let value = 0;
    for (let i = 0, shift = 1; i < 9; i++, shift *= 128) {
      const b = file[at++]!;
      value += (b & 0x7f) * shift;
      if ((b & 0x80) === 0) return value;
    }
    throw new Error('xz: a variable-length integer longer than 9 bytes');
  };
  const count = vli();
  if (count < 2) return undefined;
  const records: { unpadded: number; uncompressed: number }[] = [];
  for (let i = 0; i < count; i++) records.push({ unpadded: vli(), uncompressed: vli() });
  // The blocks lie back to back after the 12-byte header, each padded to a multiple of four bytes.
  const pieces: Uint8Array[] = [];
  let offset = 12;
  for (const r of records) {
    const padded = Math.ceil(r.unpadded / 4) * 4;
    if (offset + padded > indexStart) return undefined;
    pieces.push(oneBlockStream(file.subarray(0, 12), file.subarray(offset, offset + padded), r, flags));
    offset += padded;
  }
  return offset === indexStart ? pieces : undefined;
}

function oneBlockStream(
  header: Uint8Array,
  block: Uint8Array,
  record: { unpadded: number; uncompressed: number },
  flags: Uint8Array,
): Uint8Array {
  const body = [0x00, ...encodeVli(1), ...encodeVli(record.unpadded), ...encodeVli(record.uncompressed)];
  while (body.length % 4 !== 0) body.push(0x00);
  const index = new Uint8Array(body.length + 4);
  index.set(body);
  writeUint32(index, body.length, crc32(index.subarray(0, body.length)));
  const footer = new Uint8Array(12);
  writeUint32(footer, 4, index.length / 4 - 1);
  footer.set(flags, 8);
  footer.set([0x59, 0x5a], 10);
  writeUint32(footer, 0, crc32(footer.subarray(4, 10)));
  const out = new Uint8Array(header.length + block.length + index.length + footer.length);
  out.set(header, 0);
  out.set(block, header.length);
  out.set(index, header.length + block.length);
  out.set(footer, header.length + block.length + index.length);
  return out;
}

function encodeVli(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) b |= 0x80;
    out.push(b);
  } while (value > 0);
  return out;
}

const readUint32 = (b: Uint8Array, at: number) =>
  (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;

function writeUint32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}
