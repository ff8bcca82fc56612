// `--json` through a pipe, as CI steps, jq and scripts read it. A pipe holds 64 KiB; a reader slower than
// nslab (here one that sleeps before it reads) used to get exactly that much of a larger report, because
// the CLI exited with the rest still queued in Node. Real pipes, real bash, the real CLI.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { skipNote } from './helpers/tools.ts';

const BIN = new URL('../bin/nslab.mjs', import.meta.url).pathname;
const isRoot = process.getuid?.() === 0;
const base = mkdtempSync(join(tmpdir(), 'nslab-json-pipe-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Runs `nslab scenario all --target native --json` into `reader` through a pipe; nslab's exit code too. */
async function throughPipe(reader: string, dir: string) {
  const r = await execa(
    'bash',
    [
      '-c',
      `node '${BIN}' scenario all --target native --json --report-dir '${dir}' 2>'${dir}.err' | ${reader}; echo "nslab:\${PIPESTATUS[0]}" >&2`,
    ],
    { reject: false },
  );
  return {
    stdout: r.stdout,
    exit: Number(/nslab:(\d+)/.exec(r.stderr)?.[1]),
    stderr: readFileSync(`${dir}.err`, 'utf8'),
  };
}

describe.runIf(isRoot)(
  `--json into a pipe${skipNote(isRoot, 'the native catalogue runs as root only')}`,
  () => {
    it('a reader slower than nslab gets the whole report, byte for byte, and it parses', async () => {
      const dir = join(base, 'slow');
      const r = await throughPipe('(sleep 2; cat)', dir);
      expect(r.exit, r.stderr).toBe(0);
      const written = readFileSync(join(dir, 'latest', 'report.json'), 'utf8');
      // More than a pipe holds, or this would prove nothing.
      expect(Buffer.byteLength(written)).toBeGreaterThan(64 * 1024);
      expect(r.stdout.length).toBe(written.trimEnd().length);
      expect(JSON.parse(r.stdout)).toEqual(JSON.parse(written));
    }, 120_000);

    it("a reader that leaves early (head -c 100): nslab exits with the run's code, no crash, the report written", async () => {
      const dir = join(base, 'head');
      const r = await throughPipe('head -c 100', dir);
      expect(r.stdout).toHaveLength(100);
      expect(r.exit, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/EPIPE|Unhandled/);
      expect(JSON.parse(readFileSync(join(dir, 'latest', 'report.json'), 'utf8')).summary).toBeDefined();
    }, 120_000);
  },
);
