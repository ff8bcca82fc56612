import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { gunzip as gunzipCb } from 'node:zlib';

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
      if (data.byteLength >= WORKER_THRESHOLD) return xzInWorker(data);
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

/** Past this size an xz member is decompressed on a worker thread, so that the build goes on meanwhile. */
const WORKER_THRESHOLD = 4 * 1024 * 1024;

/**
 * The worker's code, evaluated as CommonJS: it loads xz-decompress by the path the main thread resolved
 * (so the same in the sources and in the bundled CLI, where that package stays outside the bundle).
 */
const XZ_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { XzReadableStream } = require(workerData.module);
(async () => {
  const input = new ReadableStream({ start(c) { c.enqueue(new Uint8Array(workerData.data)); c.close(); } });
  const chunks = [];
  let size = 0;
  for await (const chunk of new XzReadableStream(input)) { chunks.push(chunk); size += chunk.length; }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  parentPort.postMessage(out.buffer, [out.buffer]);
})().catch((error) => { throw error; });
`;

function xzInWorker(data: Uint8Array): Promise<Buffer> {
  const module = createRequire(import.meta.url).resolve('xz-decompress');
  const copy = new Uint8Array(data); // a copy with a buffer of its own, handed over whole
  return new Promise((resolve, reject) => {
    const worker = new Worker(XZ_WORKER, {
      eval: true,
      workerData: { module, data: copy.buffer },
      transferList: [copy.buffer],
    });
    worker.once('message', (buffer: ArrayBuffer) => resolve(Buffer.from(buffer)));
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`the xz worker exited with code ${code}`)));
  });
}
