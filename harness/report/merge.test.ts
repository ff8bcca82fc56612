import { join } from 'node:path';
import { validateReport } from '../../test/helpers/report-schema.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../errors.ts';
import { mergeReports } from './merge.ts';
import { readReport } from './read.ts';
import type { RunReport } from './types.ts';

const FIXTURES = new URL('../../test/fixtures/reports/', import.meta.url).pathname;
const validate = validateReport;
const HOST: RunReport['host'] = {
  os: 'linux',
  arch: 'x64',
  uname: 'Linux merger 6.1.0 x86_64',
  node: 'v20.19.0',
};
const OPTIONS = {
  runId: '20261129T090000Z-abcd',
  host: HOST,
  argv: ['report', 'merge', 'a', 'b', 'c', '-o', 'x'],
};

let linux: RunReport, darwin: RunReport, win32: RunReport, merged: RunReport;
beforeAll(async () => {
  [linux, darwin, win32] = (await Promise.all(
    ['linux.json', 'darwin.json', 'win32.json'].map((f) => readReport(join(FIXTURES, f))),
  )) as [RunReport, RunReport, RunReport];
  merged = mergeReports([linux, darwin, win32], OPTIONS);
});

describe('mergeReports of the recorded Linux run and the edited macOS and Windows ones', () => {
  it('has a column per host: linux native, linux vm, darwin vm, win32 vm', () => {
    expect(merged.view.targets.map((t) => t.key)).toEqual([
      'linux/native',
      'linux/vm',
      'darwin/vm',
      'win32/vm',
    ]);
    expect(merged.view.targets.map((t) => t.column)).toEqual([
      'native Linux',
      'VM on Linux (tcg)',
      'VM on macOS (hvf)',
      'VM on Windows (whpx)',
    ]);
  });

  it('keeps each target with its own host facts, in input order', () => {
    expect(merged.targets).toEqual([...linux.targets, ...darwin.targets, ...win32.targets]);
    const [native, vmLinux, vmDarwin, vmWin] = merged.view.targets;
    expect(native!.host.uname).toBe(linux.host.uname);
    expect(vmLinux!.qemuPid).toBe(linux.targets[1]!.host!.qemuPid);
    expect(vmDarwin!.host.uname).toMatch(/^Darwin /);
    expect(vmDarwin!.qemuPid).toBe(darwin.targets[0]!.host!.qemuPid);
    expect(vmWin!.host.os).toBe('win32');
    // The macOS host runs Darwin, not the guest's Linux: the container's kernel is not the host's.
    expect(vmDarwin!.sameKernelAsHost).toBe(false);
    expect(vmDarwin!.sameKernelAsObserver).toBe(true);
  });

  it('sums the summaries', () => {
    const sum = (k: keyof RunReport['summary']) => linux.summary[k] + darwin.summary[k] + win32.summary[k];
    expect(merged.summary).toEqual({
      pass: sum('pass'),
      fail: sum('fail'),
      skip: sum('skip'),
      error: sum('error'),
    });
    expect(merged.summary.pass).toBe(4);
  });

  it('spans the earliest start to the latest end, and records the runs it merged', () => {
    expect(merged.startedAt).toBe(darwin.startedAt);
    expect(merged.finishedAt).toBe(win32.finishedAt);
    expect(merged.durationMs).toBe(Date.parse(win32.finishedAt) - Date.parse(darwin.startedAt));
    expect(merged.mergedFrom).toEqual([
      { runId: linux.runId, host: linux.host },
      { runId: darwin.runId, host: darwin.host },
      { runId: win32.runId, host: win32.host },
    ]);
    expect(merged).toMatchObject({
      runId: OPTIONS.runId,
      host: HOST,
      argv: OPTIONS.argv,
      interrupted: false,
    });
  });

  it('validates against report.schema.json', () => {
    const ok = validate(JSON.parse(JSON.stringify(merged)));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('leaves its inputs as they were', async () => {
    const again = await readReport(join(FIXTURES, 'linux.json'));
    mergeReports([linux, darwin], OPTIONS).targets[0]!.uname = 'changed';
    expect(linux).toEqual(again);
  });
});

describe('mergeReports rules', () => {
  it('is interrupted if any input was', () => {
    expect(mergeReports([linux, { ...darwin, interrupted: true }], OPTIONS).interrupted).toBe(true);
  });

  it('repeats a host/kind key with a suffix, so that every column stays unique', () => {
    const other = { ...darwin, runId: '20261128T150000Z-0001' };
    expect(mergeReports([darwin, other], OPTIONS).view.targets.map((t) => t.key)).toEqual([
      'darwin/vm',
      'darwin/vm-2',
    ]);
  });

  it('a merge of merges lists the original runs', () => {
    const twice = mergeReports([mergeReports([linux, darwin], OPTIONS), win32], {
      ...OPTIONS,
      runId: '20261129T100000Z-0002',
    });
    expect(twice.mergedFrom?.map((m) => m.runId)).toEqual([linux.runId, darwin.runId, win32.runId]);
    expect(twice.view.targets).toHaveLength(4);
  });

  it('refuses an input of another schema version, naming the run', () => {
    const v3 = { ...darwin, schemaVersion: 3 } as unknown as RunReport;
    expect(() => mergeReports([linux, v3], OPTIONS)).toThrow(UsageError);
    expect(() => mergeReports([linux, v3], OPTIONS)).toThrow(
      `report ${darwin.runId} has schema version 3; merging takes version 2`,
    );
  });

  it('refuses the same run twice and an empty list', () => {
    expect(() => mergeReports([linux, darwin, linux], OPTIONS)).toThrow(
      `run ${linux.runId} is given more than once`,
    );
    expect(() => mergeReports([], OPTIONS)).toThrow(UsageError);
  });
});
