import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { gunzip as gunzipCb } from 'node:zlib';
import { splitXzBlocks } from './xz-blocks.ts';

const gunzip = promisify(gunzipCb);

/** The compressions Debian uses for .deb members and for indices, by file-name suffix. */
export type Compression = 'xz' | 'zst' | 'gz' | 'none';

export function compressionOf(name: string): Compression {
  if (name.endsWith('.xz')) return 'xz';
  if (name.endsWith('.zst')) return 'zst';
  if (name.endsWith('.gz')) return 'gz';
  return 'none';
}

/**
 * Decompresses a whole buffer. gzip is Node's own zlib; xz and zstd, which Node 20 lacks, are loaded on
 * first use: xz-decompress (xz-embedded compiled to WebAssembly: no native code to build on macOS or
 * Windows) and fzstd (zstd in plain JavaScript).
 */
export async function decompress(data: Uint8Array, compression: Compression): Promise<Buffer> {
  switch (compression) {
    case 'none':
      return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    case 'gz':
      return gunzip(data);
    case 'zst': {
      const { decompress: unzstd } = await import('fzstd');
      const out = unzstd(data);
      return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    }
    case 'xz': {
      if (data.byteLength >= WORKER_THRESHOLD) return xzInWorkers(data);
      const { XzReadableStream } = (await import('xz-decompress')).default ?? (await import('xz-decompress'));
      const input = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(data);
          controller.close();
        },
      });
      const chunks: Uint8Array[] = [];
      for await (const chunk of new XzReadableStream(input) as unknown as AsyncIterable<Uint8Array>)
        chunks.push(chunk);
      return Buffer.concat(chunks);
    }
  }
}

/** Past this size an xz member is decoded on worker threads, so that the build goes on meanwhile. */
const WORKER_THRESHOLD = 4 * 1024 * 1024;

/**
 * The worker's code, evaluated as CommonJS: it loads xz-decompress by the path the main thread resolved
 * (the same in the sources and in the bundled CLI, where that package stays outside the bundle), decodes
 * the streams it is given in turn, and hands each result back without a copy.
 */
const XZ_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { XzReadableStream } = require(workerData.module);
async function decode(buffer) {
  const input = new ReadableStream({ start(c) { c.enqueue(new Uint8Array(buffer)); c.close(); } });
  const chunks = [];
  let size = 0;
  for await (const chunk of new XzReadableStream(input)) { chunks.push(chunk); size += chunk.length; }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out.buffer;
}
(async () => {
  const outs = [];
  for (const b of workerData.streams) outs.push(await decode(b));
  parentPort.postMessage(outs, outs);
})();
`;

/**
 * Decodes a large xz member on worker threads: its blocks split into streams of their own (splitXzBlocks)
 * and shared out by size among as many workers as there are cores, largest first, as `xz -T0` would.
 */
async function xzInWorkers(data: Uint8Array): Promise<Buffer> {
  const pieces = splitXzBlocks(data) ?? [data];
  const threads = Math.max(1, Math.min(availableParallelism(), pieces.length));
  const shares: { indices: number[]; bytes: number }[] = Array.from({ length: threads }, () => ({
    indices: [],
    bytes: 0,
  }));
  [...pieces.keys()]
    .sort((a, b) => pieces[b]!.length - pieces[a]!.length)
    .forEach((i) => {
      const lightest = shares.reduce((min, s) => (s.bytes < min.bytes ? s : min));
      lightest.indices.push(i);
      lightest.bytes += pieces[i]!.length;
    });
  const module = createRequire(import.meta.url).resolve('xz-decompress');
  const outputs: Buffer[] = new Array(pieces.length);
  await Promise.all(
    shares.map(async (share) => {
      // Copies with buffers of their own, handed over whole.
      const streams = share.indices.map((i) => new Uint8Array(pieces[i]!).buffer);
      const results = await new Promise<ArrayBuffer[]>((resolve, reject) => {
        const worker = new Worker(XZ_WORKER, {
          eval: true,
          workerData: { module, streams },
          transferList: streams,
        });
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.once(
          'exit',
          (code) => code !== 0 && reject(new Error(`the xz worker exited with code ${code}`)),
        );
      });
      share.indices.forEach((i, k) => (outputs[i] = Buffer.from(results[k]!)));
    }),
  );
  return Buffer.concat(outputs);
}
