#!/usr/bin/env zx
// A VM result: the floor against nslab's cold boot and its restore from a saved guest, and native, for
// `pid-ns` and for `all` (interleaved runs, medians, ratios against the floor measured in the same run):
//   floor          plain QEMU boot of the same image + one `ssh true`, driven by shell (bench/floor.mjs)
//   cold           nslab scenario X --target vm --no-snapshot      (a full boot every time)
//   restore        nslab scenario X --target vm                    (the saved guest, warm after the warm-up)
//   native         nslab scenario X --target native
// Also: the cold boot's first command (ms from QEMU's spawn, from the report's phases).
// Aims (issue 11, under TCG here): restore pid-ns at most 1.5 s end to end; cold first command within 3.0 s.
// Usage: npm run bench:boot [-- --runs 5] [--json] [--pid-ns-only]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argv } from 'zx';
import { prepareFloor } from './floor.mjs';
import { $, interleaved, median } from './stats.mjs';

const runs = Number(argv.runs ?? 5);
$.verbose = false;
$.quiet = true;
const work = mkdtempSync(join(tmpdir(), 'nslab-bench-boot-'));
// A private runtime folder (a VM kept elsewhere is never reused) and host memory.
const env = { ...process.env, NSLAB_RUNTIME_DIR: join(work, 'run'), XDG_STATE_HOME: join(work, 'state') };
const reports = join(work, 'reports');
/** One run; a failed one stops the benchmark and shows what failed (a benchmark of failures means nothing). */
const nslab = async (...args) => {
  const r = await $({
    env,
    nothrow: true,
  })`node bin/nslab.mjs scenario ${args} --json --report-dir ${reports}`;
  if (r.exitCode !== 0) {
    let bad = r.stderr.split('\n').slice(-12).join('\n');
    try {
      const report = JSON.parse(r.stdout);
      bad = JSON.stringify(
        report.targets.flatMap((t) => t.scenarios.filter((s) => s.status !== 'pass' && s.status !== 'skip')),
        null,
        1,
      ).slice(0, 3000);
    } catch {
      // no report: the stderr tail says why
    }
    throw new Error(`nslab scenario ${args.join(' ')} exited ${r.exitCode}:\n${bad}`);
  }
  return r;
};
const firstCommands = [];
try {
  // One run first: the accelerator nslab uses here (after its own trial), which the floor then uses too.
  await nslab('pid-ns', '--target', 'vm');
  const used = JSON.parse(readFileSync(join(reports, 'latest', 'report.json'), 'utf8')).targets[0].host
    .accelerator;
  const floor = await prepareFloor(work, used);
  const cases = {
    floor,
    coldPidNs: async () => {
      await nslab('pid-ns', '--target', 'vm', '--no-snapshot');
      const r = JSON.parse(readFileSync(join(reports, 'latest', 'report.json'), 'utf8'));
      firstCommands.push(r.targets[0].phases.firstCommand);
    },
    restorePidNs: () => nslab('pid-ns', '--target', 'vm'),
    nativePidNs: () => nslab('pid-ns', '--target', 'native'),
    ...(argv['pid-ns-only']
      ? {}
      : {
          coldAll: () => nslab('all', '--target', 'vm', '--no-snapshot'),
          restoreAll: () => nslab('all', '--target', 'vm'),
          nativeAll: () => nslab('all', '--target', 'native'),
        }),
  };
  const times = await interleaved(cases, runs);
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, Math.round(median(v))]));
  const ratio = (k) => Number((m[k] / m.floor).toFixed(2));
  const result = {
    runs,
    mediansMs: m,
    ratiosToFloor: Object.fromEntries(Object.keys(m).map((k) => [k, ratio(k)])),
    coldFirstCommandMs: Math.round(median(firstCommands.slice(-runs))),
    allRunsMs: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v.map(Math.round)])),
  };
  if (argv.json) console.log(JSON.stringify(result, null, 2));
  else {
    const row = (label, k) =>
      `  ${label.padEnd(34)} ${String(m[k]).padStart(6)} ms   ×${ratio(k)} of the floor`;
    console.log(`runs per case: ${runs} (medians; TCG unless an accelerator is usable)`);
    console.log(row('floor: plain QEMU + ssh true', 'floor'));
    console.log(row('pid-ns, cold boot (--no-snapshot)', 'coldPidNs'));
    console.log(row('pid-ns, restored from snapshot', 'restorePidNs'));
    console.log(row('pid-ns, native', 'nativePidNs'));
    if (m.coldAll !== undefined) {
      console.log(row('all, cold boot (--no-snapshot)', 'coldAll'));
      console.log(row('all, restored from snapshot', 'restoreAll'));
      console.log(row('all, native', 'nativeAll'));
    }
    console.log(`cold boot: first command ${result.coldFirstCommandMs} ms after QEMU's spawn (median)`);
    console.log(`aims: restored pid-ns at most 1500 ms; cold first command at most 3000 ms`);
    console.log(`all runs (ms): ${JSON.stringify(result.allRunsMs)}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
