/**
 * Output from a guest or a probe is untrusted: it may be a gigabyte, one endless line, or invalid UTF-8.
 * These keep what nslab holds in memory bounded and say what they left out.
 */

const note = (n: number) => Buffer.from(`\n[nslab: truncated, ${n} bytes not kept]`);

/**
 * A KEY NUL VALUE NUL record stream (the probe's), each field cut to `limit` bytes; a cut field ends with
 * a note of how many bytes were dropped. The structure survives: every NUL is kept.
 */
export class CappedRecords {
  private readonly kept: Buffer[] = [];
  private fieldBytes = 0;
  private dropped = 0;
  readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nul = chunk.indexOf(0, start);
      this.take(chunk.subarray(start, nul < 0 ? chunk.length : nul));
      if (nul < 0) return;
      this.endField();
      this.kept.push(Buffer.from([0]));
      start = nul + 1;
    }
  }

  private take(piece: Buffer): void {
    const room = Math.max(0, this.limit - this.fieldBytes);
    if (room > 0) this.kept.push(piece.subarray(0, room));
    if (piece.length > room) this.dropped += piece.length - room;
    this.fieldBytes += piece.length;
  }

  private endField(): void {
    if (this.dropped > 0) this.kept.push(note(this.dropped));
    this.fieldBytes = 0;
    this.dropped = 0;
  }

  /** What was kept, as text (invalid UTF-8 becomes U+FFFD). */
  text(): string {
    this.endField();
    return Buffer.concat(this.kept).toString('utf8');
  }
}

/** A plain stream (stderr) cut to its first `limit` bytes, with the same note. */
export class CappedText {
  private readonly kept: Buffer[] = [];
  private bytes = 0;
  readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  push(chunk: Buffer): void {
    const room = Math.max(0, this.limit - this.bytes);
    if (room > 0) this.kept.push(chunk.subarray(0, room));
    this.bytes += chunk.length;
  }

  text(): string {
    const dropped = this.bytes - this.limit;
    return Buffer.concat(dropped > 0 ? [...this.kept, note(dropped)] : this.kept).toString('utf8');
  }
}

/** How much of each probe field and of stderr nslab keeps: enough for any observation, bounded memory. */
export const PROBE_FIELD_LIMIT = 1024 * 1024;
export const STDERR_LIMIT = 256 * 1024;

/**
 * Text from a guest or a probe, made safe for a terminal: escape sequences (CSI, OSC and the like) and
 * other control characters are removed, newlines and tabs kept. Nothing a guest prints can move the
 * cursor, retitle the window or hide a line of the summary. Pure.
 */
export function forTerminal(text: string): string {
  return (
    text
      // ESC [ ... final byte (CSI), ESC ] ... BEL or ESC \ (OSC), other two-byte ESC sequences
      // eslint-disable-next-line no-control-regex
      .replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?/g, '')
      // eslint-disable-next-line no-control-regex
      .replace(/[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]/g, '')
  );
}
