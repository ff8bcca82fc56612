import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readReport } from './read.ts';
import { renderRunsIndex, writeRunsIndex, type RunEntry } from './runs-index.ts';
import type { RunReport } from './types.ts';
import { writeReport } from './write.ts';

const FIXTURES = new URL('../../test/fixtures/reports/', import.meta.url).pathname;
const HOSTILE = '<img src=x onerror=alert(1)>';

let linux: RunReport, darwin: RunReport, win32: RunReport, dir: string;
beforeAll(async () => {
  [linux, darwin, win32] = (await Promise.all(
    ['linux.json', 'darwin.json', 'win32.json'].map((f) => readReport(join(FIXTURES, f))),
  )) as [RunReport, RunReport, RunReport];
  dir = mkdtempSync(join(tmpdir(), 'nslab-index-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const entry = (report: RunReport): RunEntry => ({ runId: report.runId, report });
/** A copy of the Linux run under another id, booting its VM in `bootMs`. */
function run(runId: string, bootMs: number, argv = linux.argv): RunReport {
  const r = structuredClone(linux);
  r.runId = runId;
  r.argv = argv;
  r.targets[1]!.phases = { ...r.targets[1]!.phases, firstCommand: bootMs };
  return r;
}

describe('renderRunsIndex', () => {
  it('lists the runs newest first, whatever order they come in, each linking to its report', () => {
    const html = renderRunsIndex([entry(linux), entry(darwin), entry(win32)]);
    // darwin ran at 14:31, linux at 15:36, win32 at 16:44 (their run ids' time stamps).
    const at = (r: RunReport) => html.indexOf(`href="${r.runId}/report.html"`);
    expect(at(win32)).toBeGreaterThan(0);
    expect(at(win32)).toBeLessThan(at(linux));
    expect(at(linux)).toBeLessThan(at(darwin));
  });

  it('places a merged run by when its measurements began, not by when it was merged', () => {
    const merged = { ...structuredClone(darwin), runId: '20261130T000000Z-beef', mergedFrom: [] };
    const html = renderRunsIndex([
      entry(merged),
      entry(linux),
      { runId: '20261128T150000Z-dead', unreadable: 'x' },
    ]);
    const at = (id: string) => html.indexOf(`>${id}</code>`);
    // linux started 15:36; the unreadable run's id says 15:00; the merge holds darwin's run of 14:31.
    expect(at(linux.runId)).toBeLessThan(at('20261128T150000Z-dead'));
    expect(at('20261128T150000Z-dead')).toBeLessThan(at(merged.runId));
    expect(html).toContain('merged from 0 runs');
  });

  it('shows each run: date, command, targets, status counts, and the boot time in seconds or —', () => {
    const html = renderRunsIndex([entry(linux)]);
    const rowText = html.slice(html.indexOf('<tbody>'), html.indexOf('</tbody>'));
    expect(rowText).toContain('2026-11-28 15:36:08 UTC');
    expect(rowText).toContain('nslab scenario pid-ns --target all --json --report-dir /tmp/wtb-reports');
    expect(rowText).toContain('native Linux, VM on Linux (tcg)');
    expect(rowText).toContain('2 pass</span>');
    expect(rowText).toContain('0 fail</span>');
    // The recorded VM's first command came 2998 ms after QEMU started.
    expect(rowText).toContain('3.00 s');
    const nativeOnly = structuredClone(linux);
    nativeOnly.targets = nativeOnly.targets.filter((t) => t.kind === 'native');
    const reused = structuredClone(linux);
    reused.targets[1]!.host!.reusedVm = true;
    expect(renderRunsIndex([entry(reused)])).toContain(
      '<span class="none">—</span> <small>reused VM</small>',
    );
    const none = renderRunsIndex([entry(nativeOnly)]);
    expect(none.slice(none.indexOf('<tbody>'))).toMatch(/<td class="none">—<\/td><\/tr>/);
  });

  it('shows the boot trend: bars relative to the slowest boot, and a time per host in a merged run', () => {
    const html = renderRunsIndex([
      entry(run('20261201T000000Z-0001', 4000)),
      entry(run('20261202T000000Z-0002', 2000)),
    ]);
    expect(html).toContain('4.00 s</span><span class="track"><span class="bar" style="width:100%">');
    expect(html).toContain('2.00 s</span><span class="track"><span class="bar" style="width:50%">');
    const merged = { ...structuredClone(linux), targets: [...linux.targets, ...darwin.targets] };
    const both = renderRunsIndex([entry(merged)]);
    expect(both).toContain('<span class="boot">Linux 3.00 s</span>');
    expect(both).toContain('<span class="boot">macOS 3.00 s</span>');
  });

  it("escapes a hostile run's argv", () => {
    const html = renderRunsIndex([entry(run('20261203T000000Z-0003', 1000, ['scenario', HOSTILE]))]);
    expect(html).not.toContain(HOSTILE);
    expect(html).not.toMatch(/<img\b/i);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('is self-contained: inline CSS, no script, nothing fetched; light and dark', () => {
    const html = renderRunsIndex([entry(linux), { runId: 'broken', unreadable: `bad ${HOSTILE}` }]);
    expect(html).not.toMatch(/<(script|link|img|iframe|object)\b|https?:\/\//i);
    expect(html).toContain("default-src 'none'");
    expect(html).toContain('@media (prefers-color-scheme: dark)');
    expect(html).toContain('unreadable:</strong> bad &lt;img');
  });

  it('says so when there are no runs', () => {
    expect(renderRunsIndex([])).toContain('No runs yet');
  });
});

describe('writeRunsIndex', () => {
  it('writes index.html over every run folder, lists an unreadable one, and leaves nothing else behind', async () => {
    const reports = join(dir, 'reports');
    await writeReport(linux, reports);
    await writeReport(darwin, reports);
    mkdirSync(join(reports, '20261128T170000Z-dead'));
    writeFileSync(
      join(reports, '20261128T170000Z-dead', 'report.json'),
      '{"schemaVersion": 3, "targets": []}',
    );
    // Shaped wrong although readable: listed as unreadable, not fatal.
    mkdirSync(join(reports, '20261128T180000Z-0bad'));
    writeFileSync(
      join(reports, '20261128T180000Z-0bad', 'report.json'),
      '{"schemaVersion": 2, "targets": []}',
    );
    mkdirSync(join(reports, 'not-a-run'));
    const index = await writeRunsIndex(reports);
    expect(index).toBe(join(reports, 'index.html'));
    const html = readFileSync(index, 'utf8');
    expect(html).toContain(`href="${linux.runId}/report.html"`);
    expect(html).toContain(`href="${darwin.runId}/report.html"`);
    expect(html).toMatch(
      /20261128T170000Z-dead<\/code><\/td><td colspan="5"><strong>unreadable:<\/strong>[^<]*schema version 3/,
    );
    expect(html).toMatch(/20261128T180000Z-0bad<\/code><\/td><td colspan="5"><strong>unreadable:/);
    // `latest` points at darwin's run: not listed a second time; a folder without report.json is not a run.
    expect(html.split(`>${darwin.runId}</code>`)).toHaveLength(2);
    expect(html).not.toContain('not-a-run');
    expect(html).toContain('4 runs, newest first');
    expect(readdirSync(reports).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('reads only the reports that are new or changed since the last index (runs.json keeps the rest)', async () => {
    const reports = join(dir, 'cached');
    const first = await writeReport(linux, reports);
    await writeReport(darwin, reports);
    await writeRunsIndex(reports);
    expect(Object.keys(JSON.parse(readFileSync(join(reports, 'runs.json'), 'utf8')).runs).sort()).toEqual(
      [linux.runId, darwin.runId].sort(),
    );
    // The same size and time, other words: an index that reread every report would show them.
    const json = join(dirname(first.html), 'report.json');
    const { atimeMs, mtimeMs } = statSync(json);
    const text = readFileSync(json, 'utf8');
    const word = linux.argv[0]!;
    const other = 'x'.repeat(word.length);
    writeFileSync(json, text.replaceAll(`"${word}"`, `"${other}"`));
    utimesSync(json, atimeMs / 1000, mtimeMs / 1000);
    expect(readFileSync(await writeRunsIndex(reports), 'utf8')).not.toContain(`nslab ${other}`);
    // A newer file is read again; a removed run is gone from both files.
    utimesSync(json, new Date(), new Date());
    expect(readFileSync(await writeRunsIndex(reports), 'utf8')).toContain(`nslab ${other}`);
    rmSync(join(reports, darwin.runId), { recursive: true });
    const html = readFileSync(await writeRunsIndex(reports), 'utf8');
    expect(html).not.toContain(darwin.runId);
    expect(readFileSync(join(reports, 'runs.json'), 'utf8')).not.toContain(darwin.runId);
  });

  it('a damaged runs.json, one of another format or a run named __proto__ costs a full read, never the index', async () => {
    const reports = join(dir, 'damaged');
    await writeReport(linux, reports);
    mkdirSync(join(reports, '__proto__'));
    writeFileSync(join(reports, '__proto__', 'report.json'), '{}');
    for (const text of [
      'null',
      '[]',
      '{"format": 0, "runs": {}}',
      '{"format": 1, "runs": null}',
      'not json',
    ]) {
      writeFileSync(join(reports, 'runs.json'), text);
      const html = readFileSync(await writeRunsIndex(reports), 'utf8');
      expect(html).toContain(`href="${linux.runId}/report.html"`);
      expect(html).toMatch(/__proto__<\/code><\/td><td colspan="5"><strong>unreadable:/);
      expect(JSON.parse(readFileSync(join(reports, 'runs.json'), 'utf8')).format).toBe(1);
    }
  });
});
