import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findOnPath, skipNote } from './helpers/tools.ts';

const BIN = new URL('../bin/nslab.mjs', import.meta.url).pathname;
const FIXTURES = new URL('./fixtures/reports/', import.meta.url).pathname;
const fixture = (name: string) => join(FIXTURES, name);
// util-linux `script` gives the CLI a terminal, the one case in which it opens the report.
const SCRIPT = process.platform === 'linux' ? findOnPath('script') : undefined;
const noScript = skipNote(SCRIPT, 'needs util-linux script on Linux, for a terminal');
let dir: string;

// CI unset so that `report open` decides by the TTY alone; stdout is a pipe here, so no browser ever starts.
const nslab = (args: string[]) =>
  execa('node', [BIN, ...args], {
    reject: false,
    cwd: dir,
    env: { CI: '', GITHUB_ACTIONS: '', GITLAB_CI: '' },
  });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-cli-report-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('nslab report merge', () => {
  it('merges three runs into report.json and report.html, prints the html path, exit 0', async () => {
    const r = await nslab([
      'report',
      'merge',
      fixture('linux.json'),
      fixture('darwin.json'),
      fixture('win32.json'),
      '-o',
      'merged',
    ]);
    expect(r.stderr).toContain('merged 3 runs, 4 targets');
    expect(r.exitCode).toBe(0);
    const html = String(r.stdout).trim();
    expect(html).toMatch(/merged\/\d{8}T\d{6}Z-[0-9a-f]{4}\/report\.html$/);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<!doctype html>');
    // One page, one headline: a column per target, so one per host OS (Linux has two, native and VM).
    const heads = [
      ...page.slice(page.indexOf('<table class="headline">')).matchAll(/<th scope="col">([^<]+)</g),
    ];
    expect(heads.slice(0, 4).map((m) => m[1])).toEqual([
      'native Linux',
      'VM on Linux (tcg)',
      'VM on macOS (hvf)',
      'VM on Windows (whpx)',
    ]);
    const report = JSON.parse(readFileSync(join(dirname(html), 'report.json'), 'utf8'));
    expect(report.view.targets.map((t: { key: string }) => t.key)).toEqual([
      'linux/native',
      'linux/vm',
      'darwin/vm',
      'win32/vm',
    ]);
    expect(report.summary).toEqual({ pass: 4, fail: 0, skip: 0, error: 0 });
    expect(report.argv.slice(0, 2)).toEqual(['report', 'merge']);
    expect(readlinkSync(join(dir, 'merged', 'latest'))).toBe(report.runId);
    expect(readFileSync(join(dir, 'merged', 'index.html'), 'utf8')).toContain(`${report.runId}/report.html`);
  });

  it('upgrades a schema 1 input as it reads it', async () => {
    const r = await nslab(['report', 'merge', fixture('linux-v1.json'), fixture('darwin.json'), '-o', 'v1']);
    expect(r.exitCode).toBe(0);
    const report = JSON.parse(readFileSync(join(dirname(String(r.stdout).trim()), 'report.json'), 'utf8'));
    expect(report.schemaVersion).toBe(2);
    expect(report.view.targets).toHaveLength(3);
  });

  it('one input is exit 2 and says two are needed', async () => {
    const r = await nslab(['report', 'merge', fixture('linux.json'), '-o', 'one']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('needs two or more report.json files; got 1');
    expect(existsSync(join(dir, 'one'))).toBe(false);
  });

  it('a missing file is exit 2 naming it', async () => {
    const r = await nslab(['report', 'merge', fixture('linux.json'), 'nowhere/report.json', '-o', 'missing']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('cannot read report nowhere/report.json: no such file');
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });

  it('no -o is exit 2 naming the option', async () => {
    const r = await nslab(['report', 'merge', fixture('linux.json'), fixture('darwin.json')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('needs -o, --output <dir>');
  });

  it('a schema 3 input is exit 2 naming the file and the versions read', async () => {
    const v3 = join(dir, 'v3.json');
    writeFileSync(
      v3,
      JSON.stringify({ ...JSON.parse(readFileSync(fixture('darwin.json'), 'utf8')), schemaVersion: 3 }),
    );
    const r = await nslab(['report', 'merge', fixture('linux.json'), v3, '-o', 'v3']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`report ${v3} has schema version 3; this nslab reads versions 1 and 2`);
  });

  it('--help says what it writes and when it exits 2', async () => {
    const r = await nslab(['report', 'merge', '--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('-o, --output <dir>');
    expect(r.stdout).toContain('two or more');
    expect(r.stdout).toContain('<dir>/index.html');
  });
});

describe('nslab report open', () => {
  it('with stdout a pipe, prints the latest report and why it did not open it, exit 0', async () => {
    const merged = await nslab([
      'report',
      'merge',
      fixture('linux.json'),
      fixture('win32.json'),
      '-o',
      'open',
    ]);
    const html = String(merged.stdout).trim();
    const r = await nslab(['report', 'open', '--report-dir', 'open']);
    expect(r.exitCode).toBe(0);
    expect(String(r.stdout).trim()).toBe(html);
    expect(r.stderr).toContain('not opening it in a browser: stdout is not a terminal');
  });

  it('in CI, says CI is why', async () => {
    const r = await execa('node', [BIN, 'report', 'open', '--report-dir', 'open'], {
      reject: false,
      cwd: dir,
      env: { CI: 'true' },
    });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('CI is set');
  });

  it('with no report yet is exit 2 with a hint to run a scenario first', async () => {
    const r = await nslab(['report', 'open', '--report-dir', 'empty']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`no report in ${join(dir, 'empty')}`);
    expect(r.stderr).toContain('run a scenario first');
  });

  /** `nslab report open` on a terminal of its own, on a desktop, with only `bin` and node on PATH. */
  const onTerminal = (bin: string) =>
    execa(SCRIPT!, ['-qec', `'${process.execPath}' '${BIN}' report open --report-dir open`, '/dev/null'], {
      reject: false,
      cwd: dir,
      env: { PATH: bin, DISPLAY: ':0', CI: '', GITHUB_ACTIONS: '', GITLAB_CI: '' },
      extendEnv: false,
    });

  it.runIf(SCRIPT)(
    `on a terminal and a desktop, starts xdg-open on the report and does not wait for it${noScript}`,
    async () => {
      // A stand-in xdg-open that records what it was asked to open only once this test lets it go on (the
      // gate): a CLI that waited for it would never return. (It gives up after 60 s, saying so, so that a
      // failed test leaves nothing running.)
      const bin = join(dir, 'fake-bin');
      mkdirSync(bin, { recursive: true });
      const opened = join(dir, 'opened.txt');
      const gate = join(dir, 'opener-may-finish');
      writeFileSync(
        join(bin, 'xdg-open'),
        `#!/bin/sh\ni=0\nuntil [ -e '${gate}' ]; do\n  i=$((i + 1)); [ $i -gt 600 ] && { echo 'gave up waiting' > '${opened}'; exit 1; }\n  '${findOnPath('sleep')}' 0.1\ndone\necho "$@" > '${opened}'\n`,
      );
      chmodSync(join(bin, 'xdg-open'), 0o755);
      const r = await onTerminal(bin);
      expect(r.exitCode).toBe(0);
      const html = readlinkSync(join(dir, 'open', 'latest'));
      expect(r.stdout).toContain(`${html}/report.html`);
      // The CLI has returned while the opener could not finish: it was started detached, not awaited.
      expect(existsSync(opened)).toBe(false);
      writeFileSync(gate, '');
      for (let i = 0; i < 100 && !existsSync(opened); i++) await new Promise((w) => setTimeout(w, 100));
      expect(readFileSync(opened, 'utf8').trim()).toBe(join(dir, 'open', html, 'report.html'));
    },
  );

  it.runIf(SCRIPT)(`without xdg-open on PATH, exit 3 saying how to get it${noScript}`, async () => {
    const empty = join(dir, 'empty-bin');
    mkdirSync(empty, { recursive: true });
    const r = await onTerminal(empty);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toContain('could not start xdg-open');
    expect(r.stdout).toContain('install xdg-utils');
  });
});
