/**
 * Reads what a dynamically linked ELF64 little-endian binary needs (DT_NEEDED) and its interpreter, without
 * running it: the image may be for another architecture than the host's.
 */
export interface ElfDeps {
  machine: number;
  interpreter?: string;
  needed: string[];
}

export function readElfDeps(buf: Buffer): ElfDeps | undefined {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) return undefined;
  const machine = buf.readUInt16LE(18);
  const phoff = Number(buf.readBigUInt64LE(32));
  const phentsize = buf.readUInt16LE(54);
  const phnum = buf.readUInt16LE(56);
  const loads: { vaddr: number; offset: number; filesz: number }[] = [];
  let interpreter: string | undefined;
  let dynamic: { offset: number; size: number } | undefined;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    const type = buf.readUInt32LE(p);
    const offset = Number(buf.readBigUInt64LE(p + 8));
    const vaddr = Number(buf.readBigUInt64LE(p + 16));
    const filesz = Number(buf.readBigUInt64LE(p + 32));
    if (type === 1) loads.push({ vaddr, offset, filesz });
    if (type === 2) dynamic = { offset, size: filesz };
    if (type === 3) interpreter = buf.toString('latin1', offset, offset + filesz).replace(/\0+$/, '');
  }
  const needed: string[] = [];
  if (dynamic) {
    const offsets: number[] = [];
    let strtabAddr = 0;
    for (let d = dynamic.offset; d + 16 <= dynamic.offset + dynamic.size; d += 16) {
      const tag = Number(buf.readBigInt64LE(d));
      const val = Number(buf.readBigUInt64LE(d + 8));
      if (tag === 0) break;
      if (tag === 1) offsets.push(val);
      if (tag === 5) strtabAddr = val;
    }
    // DT_STRTAB is a virtual address: map it to a file offset through the PT_LOAD segments.
    const seg = loads.find((l) => strtabAddr >= l.vaddr && strtabAddr < l.vaddr + l.filesz);
    if (seg) {
      const strtab = strtabAddr - seg.vaddr + seg.offset;
      for (const o of offsets) {
        const start = strtab + o;
        needed.push(buf.toString('latin1', start, buf.indexOf(0, start)));
      }
    }
  }
  return { machine, ...(interpreter ? { interpreter } : {}), needed };
}
