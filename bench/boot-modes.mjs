#!/usr/bin/env zx
// A VM result against floors that do the same work (bench/floor.mjs), for `pid-ns`, and `scenario all` beside
// it (interleaved runs, medians, ratios measured in the same run):
//   cold      nslab scenario pid-ns --target vm --no-snapshot   against the cold floor (plain QEMU, nslab's
//                                                               device set, secrets, ssh true)
//   restore   nslab scenario pid-ns --target vm                 against the restore floor (plain QEMU loading
//                                                               the same saved guest over QMP, ssh true)
//   native    nslab scenario pid-ns --target native             against probe.sh through sh, no Node
//   all       the same three for `scenario all`, as ratios to their pid-ns case (no floor runs a catalogue)
// Also: the cold boot's first command (ms from QEMU's spawn, from the report's phases).
// Aims (issue 11, under TCG here; exit 1 when one is missed): restored pid-ns at most 1.5 s end to end; cold
// first command within 3.0 s.
// Usage: npm run bench:boot [-- --runs 5] [--json] [--pid-ns-only]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argv } from 'zx';
import { prepareFloors } from './floor.mjs';
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
  // The bundle, as an installed nslab runs: from a clone with newer sources bin/nslab.mjs would use tsx.
  await $`node scripts/build.mjs`;
  // One run first: the accelerator nslab uses here (after its own trial), which the floor then uses too.
  await nslab('pid-ns', '--target', 'vm');
  const used = JSON.parse(readFileSync(join(reports, 'latest', 'report.json'), 'utf8')).targets[0].host
    .accelerator;
  const floors = await prepareFloors(work, used, env);
  if (!floors.restore) throw new Error('nslab saved no guest for this command line: no restore to compare');
  const cases = {
    coldFloor: floors.cold,
    coldPidNs: async () => {
      await nslab('pid-ns', '--target', 'vm', '--no-snapshot');
      const r = JSON.parse(readFileSync(join(reports, 'latest', 'report.json'), 'utf8'));
      firstCommands.push(r.targets[0].phases.firstCommand);
    },
    restoreFloor: floors.restore,
    restorePidNs: () => nslab('pid-ns', '--target', 'vm'),
    nativeFloor: floors.native,
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
  const against = {
    coldPidNs: 'coldFloor',
    restorePidNs: 'restoreFloor',
    nativePidNs: 'nativeFloor',
    coldAll: 'coldPidNs',
    restoreAll: 'restorePidNs',
    nativeAll: 'nativePidNs',
  };
  const ratio = (k) => Number((m[k] / m[against[k]]).toFixed(2));
  const coldFirstCommandMs = Math.round(median(firstCommands.slice(-runs)));
  const missed = [
    ...(m.restorePidNs > 1500 ? [`restored pid-ns took ${m.restorePidNs} ms, over 1500`] : []),
    ...(coldFirstCommandMs > 3000 ? [`cold first command at ${coldFirstCommandMs} ms, over 3000`] : []),
  ];
  const result = {
    runs,
    mediansMs: m,
    ratios: Object.fromEntries(
      Object.keys(against)
        .filter((k) => k in m)
        .map((k) => [k, ratio(k)]),
    ),
    coldFirstCommandMs,
    missed,
    allRunsMs: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v.map(Math.round)])),
  };
  if (argv.json) console.log(JSON.stringify(result, null, 2));
  else {
    const row = (label, k) =>
      `  ${label.padEnd(40)} ${String(m[k]).padStart(6)} ms${k in against ? `   ×${ratio(k)} of ${against[k]}` : ''}`;
    console.log(`runs per case: ${runs} (medians; TCG unless an accelerator is usable)`);
    console.log(row('cold floor: plain QEMU, secrets, ssh true', 'coldFloor'));
    console.log(row('pid-ns, cold boot (--no-snapshot)', 'coldPidNs'));
    console.log(row('restore floor: QMP load, secrets, ssh true', 'restoreFloor'));
    console.log(row('pid-ns, restored from snapshot', 'restorePidNs'));
    console.log(row('native floor: sh probe.sh, no Node', 'nativeFloor'));
    console.log(row('pid-ns, native', 'nativePidNs'));
    if (m.coldAll !== undefined) {
      console.log(row('all, cold boot (--no-snapshot)', 'coldAll'));
      console.log(row('all, restored from snapshot', 'restoreAll'));
      console.log(row('all, native', 'nativeAll'));
    }
    console.log(`cold boot: first command ${coldFirstCommandMs} ms after QEMU's spawn (median)`);
    console.log(`aims: restored pid-ns at most 1500 ms; cold first command at most 3000 ms`);
    for (const x of missed) console.log(`  aim missed: ${x}`);
    console.log(`all runs (ms): ${JSON.stringify(result.allRunsMs)}`);
  }
  if (missed.length > 0) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
