import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { VerificationError } from './verification-error.ts';

/** One file to fetch: where from, where to, and what the signed indices say it must be. */
export interface DownloadItem {
  url: string;
  dest: string;
  size: number;
  sha256: string;
}

/** The mirror could not be reached, or answered with an HTTP error. */
export class FetchError extends Error {
  constructor(
    readonly url: string,
    detail: string,
  ) {
    super(`${url}: ${detail}`);
    this.name = 'FetchError';
  }
}

export interface DownloadOptions {
  /** How many files at once. */
  concurrency?: number;
  /** Called as bytes arrive: bytes so far of all items, and their total. */
  onProgress?: (done: number, total: number) => void;
  /** Attempts per file when a transfer is cut short; each later one resumes where the last stopped. */
  attempts?: number;
  fetch?: typeof fetch;
}

/**
 * Fetches each item into its `dest`, verified: a transfer goes to `<dir>/partial/<name>` and is renamed into
 * place only when its size and SHA256 are the ones expected. A transfer cut short is resumed with an HTTP
 * Range request (also by the next run, if this one was ended); a file that is whole but wrong, or still
 * short after the last attempt, is removed and reported with what was expected and what came.
 */
export async function downloadAll(
  items: readonly DownloadItem[],
  options: DownloadOptions = {},
): Promise<void> {
  const total = items.reduce((n, i) => n + i.size, 0);
  let done = 0;
  const progress = (n: number) => {
    done += n;
    options.onProgress?.(done, total);
  };
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item; item = queue.shift()) await downloadOne(item, options, progress);
  };
  // Every worker is waited for, so that none still writes after the first failure is reported.
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(options.concurrency ?? 4, items.length) }, worker),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

export function partialPath(dest: string): string {
  return join(dirname(dest), 'partial', basename(dest));
}

async function downloadOne(item: DownloadItem, options: DownloadOptions, progress: (n: number) => void) {
  const partial = partialPath(item.dest);
  await mkdir(dirname(partial), { recursive: true });
  const attempts = options.attempts ?? 3;
  let have = (await stat(partial).catch(() => undefined))?.size ?? 0;
  if (have > item.size) {
    await rm(partial, { force: true });
    have = 0;
  }
  progress(have);
  try {
    for (let attempt = 1; have < item.size && attempt <= attempts; attempt++) {
      const before = have;
      have = await transfer(item, partial, have, options.fetch ?? fetch, progress);
      if (have === before && attempt === attempts) break;
    }
    if (have < item.size)
      throw new VerificationError(
        item.url,
        `${item.size} bytes (the signed index)`,
        `${have} (the download is cut short)`,
      );
    const sha256 = await hashFile(partial);
    if (sha256 !== item.sha256)
      throw new VerificationError(item.url, `SHA256 ${item.sha256} (the signed index)`, `SHA256 ${sha256}`);
    await rename(partial, item.dest);
  } catch (error) {
    // A transfer the network cut (FetchError) stays, to be resumed; a wrong or short file does not.
    if (!(error instanceof FetchError)) await rm(partial, { force: true });
    throw error;
  }
}

/** One HTTP request, appending to `partial` from byte `from`; returns the bytes the file then has. */
async function transfer(
  item: DownloadItem,
  partial: string,
  from: number,
  fetchImpl: typeof fetch,
  progress: (n: number) => void,
): Promise<number> {
  let response: Response;
  try {
    response = await fetchImpl(item.url, {
      headers: from > 0 ? { range: `bytes=${from}-` } : {},
      signal: AbortSignal.timeout(5 * 60_000),
    });
  } catch (error) {
    throw new FetchError(item.url, describeNetworkError(error));
  }
  if (response.status === 416 && from > 0) return from; // nothing more to send: the hash decides
  if (!response.ok) throw new FetchError(item.url, `HTTP ${response.status} ${response.statusText}`);
  // A server that ignores Range sends the whole file again: start over.
  const append = from > 0 && response.status === 206;
  if (from > 0 && !append) progress(-from);
  let have = append ? from : 0;
  const out = await open(partial, append ? 'a' : 'w');
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      if (have + chunk.length > item.size) {
        throw new VerificationError(
          item.url,
          `${item.size} bytes (the signed index)`,
          'more (the file is not the one listed)',
        );
      }
      await out.write(chunk);
      have += chunk.length;
      progress(chunk.length);
    }
  } catch (error) {
    if (error instanceof VerificationError) throw error;
    // The connection dropped mid-body: keep what came, the next attempt resumes from there.
  } finally {
    await out.close();
  }
  return have;
}

export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** undici hides the reason (ECONNREFUSED, ENOTFOUND, a timeout) in `cause`. */
export function describeNetworkError(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'no answer in time';
  const cause = e.cause?.code ?? e.cause?.message;
  return cause ? `${e.message} (${cause})` : e.message;
}
