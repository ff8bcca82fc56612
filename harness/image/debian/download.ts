import { existsSync } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { renameWithRetry } from '../../util/rename-retry.ts';
import { sha256File } from '../cache.ts';
import { VerificationError } from './verification-error.ts';

/** One file to fetch: where from, where to, and what the signed indices say it must be. */
export interface DownloadItem {
  url: string;
  /** Tried when `url` answers 404 (a mirror without by-hash files, as apt falls back). */
  fallbackUrl?: string;
  dest: string;
  size: number;
  sha256: string;
}

/** The mirror could not be reached, answered with an HTTP error, or kept dropping the connection. */
export class FetchError extends Error {
  constructor(
    readonly url: string,
    detail: string,
    readonly status?: number,
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
  /** Attempts per file while the connection drops mid-transfer; each later one resumes where the last stopped. */
  attempts?: number;
  /** How long a transfer may go without a byte before it counts as dropped. */
  idleTimeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * Fetches each item into its `dest`, verified: a transfer goes to `<dir>/partial/<name>` and is renamed into
 * place only when its size and SHA256 are the ones expected. A connection dropped mid-transfer is resumed
 * with an HTTP Range request (and, past the last attempt, by the next run: that partial file stays); a
 * file the mirror serves whole but short, or whole but wrong, is removed and reported with what was
 * expected and what came. A dest that already exists is taken as it is (it was verified when it came).
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
    for (let item = queue.shift(); item; item = queue.shift()) {
      try {
        await downloadOne(item, options, progress);
      } catch (error) {
        queue.length = 0; // the first failure stops the build: fetch nothing more
        throw error;
      }
    }
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
  if (existsSync(item.dest)) return progress(item.size);
  const partial = partialPath(item.dest);
  await mkdir(dirname(partial), { recursive: true });
  const attempts = options.attempts ?? 3;
  let have = (await stat(partial).catch(() => undefined))?.size ?? 0;
  if (have > item.size) {
    await rm(partial, { force: true });
    have = 0;
  }
  progress(have);
  let url = item.url;
  try {
    let complete = false;
    for (let attempt = 1; have < item.size && !complete && attempt <= attempts; attempt++) {
      let result;
      try {
        result = await transfer({ ...item, url }, partial, have, options, progress);
      } catch (error) {
        if (
          error instanceof FetchError &&
          error.status === 404 &&
          item.fallbackUrl &&
          url !== item.fallbackUrl
        ) {
          url = item.fallbackUrl;
          attempt--;
          continue;
        }
        throw error;
      }
      ({ have, complete } = result);
    }
    if (have < item.size && !complete)
      throw new FetchError(
        url,
        `the connection kept dropping (${have} of ${item.size} bytes came; the next run resumes)`,
      );
    if (have < item.size)
      throw new VerificationError(
        url,
        `${item.size} bytes (the signed index)`,
        `${have} (the download is cut short)`,
      );
    const sha256 = await sha256File(partial);
    if (sha256 !== item.sha256)
      throw new VerificationError(url, `SHA256 ${item.sha256} (the signed index)`, `SHA256 ${sha256}`);
    await renameWithRetry(partial, item.dest);
  } catch (error) {
    // A transfer the network cut (FetchError) stays, to be resumed; a wrong or short file does not.
    if (!(error instanceof FetchError)) await rm(partial, { force: true });
    throw error;
  }
}

/**
 * One HTTP request, appending to `partial` from byte `from`. Returns the bytes the file then has, and
 * whether the server sent all it meant to (a body that ended at its Content-Length, or a 416: nothing
 * more there), as against a connection that dropped.
 */
async function transfer(
  item: DownloadItem,
  partial: string,
  from: number,
  options: DownloadOptions,
  progress: (n: number) => void,
): Promise<{ have: number; complete: boolean }> {
  const idle = options.idleTimeoutMs ?? 60_000;
  const abort = new AbortController();
  let timer = setTimeout(() => abort.abort(), idle);
  const alive = () => {
    clearTimeout(timer);
    timer = setTimeout(() => abort.abort(), idle);
  };
  try {
    let response: Response;
    try {
      response = await (options.fetch ?? fetch)(item.url, {
        headers: from > 0 ? { range: `bytes=${from}-` } : {},
        signal: abort.signal,
      });
    } catch (error) {
      throw new FetchError(
        item.url,
        abort.signal.aborted ? `no answer in ${idle / 1000} s` : describeNetworkError(error),
      );
    }
    if (response.status === 416 && from > 0) return { have: from, complete: true };
    if (!response.ok)
      throw new FetchError(item.url, `HTTP ${response.status} ${response.statusText}`, response.status);
    // Appended only when the server resumes where asked; one that ignores Range (or answers another range)
    // sends the whole file again: start over.
    const range = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
    const append = from > 0 && response.status === 206 && range !== null && Number(range[1]) === from;
    if (from > 0 && !append) progress(-from);
    const length = Number(response.headers.get('content-length') ?? NaN);
    let have = append ? from : 0;
    let got = 0;
    const out = await open(partial, append ? 'a' : 'w');
    try {
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch {
          return { have, complete: false }; // the connection dropped: keep what came
        }
        if (chunk.done) break;
        alive();
        if (have + chunk.value.length > item.size)
          throw new VerificationError(
            item.url,
            `${item.size} bytes (the signed index)`,
            'more (the file is not the one listed)',
          );
        await out.write(chunk.value); // a write error (a full disk) is the machine's, and goes up as it is
        have += chunk.value.length;
        got += chunk.value.length;
        progress(chunk.value.length);
      }
    } finally {
      await out.close();
    }
    return { have, complete: Number.isNaN(length) || got === length };
  } finally {
    clearTimeout(timer);
  }
}

/** undici hides the reason (ECONNREFUSED, ENOTFOUND, a timeout) in `cause`. */
export function describeNetworkError(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'no answer in time';
  const cause = e.cause?.code ?? e.cause?.message;
  return cause ? `${e.message} (${cause})` : e.message;
}
