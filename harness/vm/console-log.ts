import { open } from 'node:fs/promises';

/**
 * Follows the guest's serial console, which QEMU writes to a file, line by line. Polling a file keeps QEMU
 * independent of this process (a kept VM outlives it) at the cost of a few milliseconds of latency.
 */
export class ConsoleLog {
  readonly path: string;
  private offset = 0;
  private partial = '';
  readonly lines: string[] = [];

  constructor(path: string) {
    this.path = path;
  }

  /** Reads what is new since the last call; returns the new complete lines. */
  async poll(): Promise<string[]> {
    let fh;
    try {
      fh = await open(this.path, 'r');
    } catch {
      return [];
    }
    try {
      const fresh: string[] = [];
      const buf = Buffer.alloc(65536);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        this.partial += buf.toString('utf8', 0, bytesRead);
      }
      const parts = this.partial.split(/\r?\n/);
      this.partial = parts.pop() ?? '';
      fresh.push(...parts);
      this.lines.push(...fresh);
      return fresh;
    } finally {
      await fh.close();
    }
  }

  get bytes(): number {
    return this.offset;
  }

  tail(n = 15): string {
    return [...this.lines, this.partial].filter(Boolean).slice(-n).join('\n');
  }
}
