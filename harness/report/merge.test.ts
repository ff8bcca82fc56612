import { describe, expect, it } from 'vitest';
import {
  DARWIN_UNAME,
  HOST_UNAME,
  nativeTarget,
  reportOf,
  vmTarget,
  vmTargetOn,
  WIN32_UNAME,
} from '../../test/helpers/report-fixture.ts';
import { validateReport } from '../../test/helpers/report-schema.ts';
import { UsageError } from '../errors.ts';
import { mergeReports } from './merge.ts';
import type { RunReport } from './types.ts';

// mergeReports alone, on synthetic reports (test/helpers/report-fixture.ts): a Linux run with a native and a
// VM target, and a VM run on macOS and one on Windows, an hour before and after it. Every expectation is
// written out. Real runs of this machine, merged by the CLI, are in test/report-merge.test.ts.

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

const linuxRun = () => reportOf([nativeTarget(), vmTarget()]); // 20250101T120000Z-abcd, 12:00:00 to 12:01:10.5
const darwinRun = () =>
  reportOf([vmTargetOn('darwin')], {
    runId: '20250101T110000Z-d0d0',
    startedAt: '2025-01-01T11:00:00.000Z',
    finishedAt: '2025-01-01T11:01:10.500Z',
    host: { os: 'darwin', arch: 'x64', uname: DARWIN_UNAME, node: 'v20.19.0' },
    argv: ['scenario', 'all', '--target', 'vm'],
  });
const win32Run = () =>
  reportOf([vmTargetOn('win32')], {
    runId: '20250101T130000Z-0bad',
    startedAt: '2025-01-01T13:00:00.000Z',
    finishedAt: '2025-01-01T13:01:10.500Z',
    host: { os: 'win32', arch: 'x64', uname: WIN32_UNAME, node: 'v20.19.0' },
    argv: ['scenario', 'all', '--target', 'vm'],
  });
const linux = linuxRun();
const darwin = darwinRun();
const win32 = win32Run();
const merged = mergeReports([linux, darwin, win32], OPTIONS);

describe('mergeReports of a Linux run (native and VM) and a macOS and a Windows VM run', () => {
  it('has a column per target: linux native, linux vm, darwin vm, win32 vm', () => {
    expect(merged.view.targets.map((t) => t.key)).toEqual([
      'linux/native',
      'linux/vm',
      'darwin/vm',
      'win32/vm',
    ]);
    expect(merged.view.targets.map((t) => t.column)).toEqual([
      'native Linux',
      'VM on Linux (kvm)',
      'VM on macOS (hvf)',
      'VM on Windows (whpx)',
    ]);
  });

  it('keeps each target with its own host facts, in input order', () => {
    expect(merged.targets).toEqual([nativeTarget(), vmTarget(), vmTargetOn('darwin'), vmTargetOn('win32')]);
    expect(merged.view.targets.map((t) => t.host)).toEqual([
      { os: 'linux', uname: HOST_UNAME },
      { os: 'linux', uname: HOST_UNAME },
      { os: 'darwin', uname: DARWIN_UNAME, model: 'MacBookPro16,1' },
      { os: 'win32', uname: WIN32_UNAME },
    ]);
    expect(merged.view.targets.map((t) => t.qemuPid)).toEqual([undefined, 5151, 48213, 7364]);
    // The macOS host runs Darwin, not the guest's Linux: the container's kernel is not the host's.
    expect(merged.view.targets.map((t) => t.sameKernelAsHost)).toEqual([true, false, false, false]);
    expect(merged.view.targets.map((t) => t.sameKernelAsObserver)).toEqual([true, true, true, true]);
  });

  it("says how each VM's guest network and QMP were kept: isolated; Unix sockets, or TLS-PSK on Windows", () => {
    const isolated =
      'isolated: the guest reaches nothing but its SSH forward (QEMU user network, restrict=on)';
    const sockets = 'Unix sockets in a folder only this user can open (mode 0700)';
    const psk =
      'TCP on 127.0.0.1, TLS with a pre-shared key made for this boot: other local users cannot use them';
    expect(merged.view.targets.map((t) => [t.network, t.control])).toEqual([
      [undefined, undefined],
      [isolated, sockets],
      [isolated, sockets],
      [isolated, psk],
    ]);
  });

  it('sums the summaries', () => {
    // Each of the four targets has one pass, one fail, one error and one skip.
    expect(merged.summary).toEqual({ pass: 4, fail: 4, skip: 4, error: 4 });
  });

  it('spans the earliest start to the latest end, and records the runs it merged', () => {
    expect(merged.startedAt).toBe('2025-01-01T11:00:00.000Z');
    expect(merged.finishedAt).toBe('2025-01-01T13:01:10.500Z');
    expect(merged.durationMs).toBe(2 * 3_600_000 + 70_500);
    expect(merged.mergedFrom).toEqual([
      {
        runId: '20250101T120000Z-abcd',
        host: { os: 'linux', arch: 'x64', uname: HOST_UNAME, node: 'v20.19.0' },
      },
      {
        runId: '20250101T110000Z-d0d0',
        host: { os: 'darwin', arch: 'x64', uname: DARWIN_UNAME, node: 'v20.19.0' },
      },
      {
        runId: '20250101T130000Z-0bad',
        host: { os: 'win32', arch: 'x64', uname: WIN32_UNAME, node: 'v20.19.0' },
      },
    ]);
    expect(merged).toMatchObject({
      schemaVersion: 2,
      runId: '20261129T090000Z-abcd',
      host: HOST,
      argv: ['report', 'merge', 'a', 'b', 'c', '-o', 'x'],
      interrupted: false,
    });
  });

  it('validates against report.schema.json, and so do its inputs', () => {
    for (const r of [linux, darwin, win32, merged]) {
      const ok = validateReport(JSON.parse(JSON.stringify(r)));
      expect(validateReport.errors ?? [], r.runId).toEqual([]);
      expect(ok).toBe(true);
    }
  });

  it('leaves its inputs as they were', () => {
    mergeReports([linux, darwin], OPTIONS).targets[0]!.uname = 'changed';
    expect(linux).toEqual(linuxRun());
    expect(darwin).toEqual(darwinRun());
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
    expect(twice.mergedFrom?.map((m) => m.runId)).toEqual([
      '20250101T120000Z-abcd',
      '20250101T110000Z-d0d0',
      '20250101T130000Z-0bad',
    ]);
    expect(twice.view.targets).toHaveLength(4);
  });

  it('refuses an input of another schema version, naming the run', () => {
    const v3 = { ...darwin, schemaVersion: 3 } as unknown as RunReport;
    expect(() => mergeReports([linux, v3], OPTIONS)).toThrow(UsageError);
    expect(() => mergeReports([linux, v3], OPTIONS)).toThrow(
      'report 20250101T110000Z-d0d0 has schema version 3; merging takes version 2',
    );
  });

  it('refuses the same run twice and an empty list', () => {
    expect(() => mergeReports([linux, darwin, linux], OPTIONS)).toThrow(
      'run 20250101T120000Z-abcd is given more than once',
    );
    expect(() => mergeReports([], OPTIONS)).toThrow(UsageError);
  });
});
