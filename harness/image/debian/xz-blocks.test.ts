import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { findOnPath, skipNote } from '../../../test/helpers/tools.ts';
import { decompress } from './decompress.ts';
import { splitXzBlocks } from './xz-blocks.ts';

// The xz tool is the oracle: it writes the multi-block files (as dpkg does with threads) and checks each
// piece nslab makes as a file of its own.
const xz = findOnPath('xz');

/** Text that compresses like a tar of programs would: neither random nor constant. */
const sample = (size: number) => {
  const words = Array.from({ length: 512 }, () => randomBytes(6).toString('hex'));
  let s = '';
  for (let i = 0; s.length < size; i++) s += `${words[(i * 7919) % words.length]} `;
  return Buffer.from(s.slice(0, size));
};

describe.runIf(xz)(`splitting .xz files into blocks${skipNote(xz, 'xz is not on PATH, the oracle')}`, () => {
  it('makes one valid stream per block, whose outputs are the file, in order; nslab decodes them in parallel', async () => {
    const data = sample(6 * 1024 * 1024);
    const multi = (await execa('xz', ['-T2', '--block-size=1MiB', '-c'], { input: data, encoding: 'buffer' }))
      .stdout;
    const pieces = splitXzBlocks(multi)!;
    expect(pieces).toHaveLength(6);
    const each = await Promise.all(
      pieces.map(
        async (p) => (await execa('xz', ['-dc'], { input: Buffer.from(p), encoding: 'buffer' })).stdout,
      ),
    );
    expect(Buffer.concat(each).equals(data)).toBe(true);
    // Above the worker threshold: decode goes through splitXzBlocks and the worker pool.
    const big = Buffer.from(randomBytes(6 * 1024 * 1024).toString('base64')); // compresses to ~6 MiB
    const bigXz = (
      await execa('xz', ['-T2', '-0', '--block-size=2MiB', '-c'], { input: big, encoding: 'buffer' })
    ).stdout;
    expect(bigXz.length).toBeGreaterThan(4 * 1024 * 1024);
    expect((await decompress(bigXz, 'xz')).equals(big)).toBe(true);
  });

  it('leaves a one-block file, concatenated streams and stream padding whole', async () => {
    const data = sample(100_000);
    const one = (await execa('xz', ['-c'], { input: data, encoding: 'buffer' })).stdout;
    expect(splitXzBlocks(one)).toBeUndefined();
    const twoBlocks = (await execa('xz', ['--block-size=50000', '-c'], { input: data, encoding: 'buffer' }))
      .stdout;
    expect(splitXzBlocks(twoBlocks)).toHaveLength(2);
    expect(splitXzBlocks(Buffer.concat([twoBlocks, twoBlocks]))).toBeUndefined();
    expect(splitXzBlocks(Buffer.concat([twoBlocks, Buffer.alloc(4)]))).toBeUndefined();
    expect(splitXzBlocks(Buffer.from('not xz at all, just some bytes here'))).toBeUndefined();
  });
});
