import type { Writable } from 'node:stream';

/**
 * Resolves once everything written to `stream` so far has been handed to the OS. A pipe whose reader is
 * slower than nslab (`nslab … --json | jq .`) holds only 64 KiB; the rest waits in Node's queue, and
 * process.exit() would drop it. A reader that went away (EPIPE) or a closed stream: resolves at once.
 */
export function flushed(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable || stream.writableLength === 0) return resolve();
    // A reader that left (`| head -c 100`): nothing more can be delivered, and that is no crash. The
    // listener stays: the stream emits the error after the write's callback has run.
    stream.on('error', () => resolve());
    // An empty write's callback comes after every write queued before it.
    stream.write('', () => resolve());
  });
}

/** stdout and stderr, both flushed (see flushed). */
export const flushStdio = () =>
  Promise.all([flushed(process.stdout), flushed(process.stderr)]).then(() => {});
