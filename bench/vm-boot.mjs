#!/usr/bin/env zx
// `nslab scenario pid-ns --target vm` against floors that do the same work (bench/floor.mjs), interleaved,
// medians and ratios measured in the same run:
//   (a) cold floor: plain QEMU with nslab's command line and devices, the secrets, one `ssh true`
//   (b) nslab, cold boot (--no-snapshot)
//   (c) restore floor: plain QEMU loading the same saved guest over QMP, the secrets, one `ssh true`
//   (d) nslab, restored from its saved guest (the default)
// No aim of its own (bench:boot has issue 11's); the ratios say what nslab adds to the same work: Node's
// start, its checks, the probe and the report. Usage: npm run bench:vm [-- --runs 5]
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argv } from 'zx';
import { $, interleaved, median } from './stats.mjs';
import { prepareFloors } from './floor.mjs';

const runs = Number(argv.runs ?? 5);
$.verbose = false;
$.quiet = true;
const work = mkdtempSync(join(tmpdir(), 'nslab-bench-vm-'));
const env = { ...process.env, NSLAB_RUNTIME_DIR: join(work, 'run'), XDG_STATE_HOME: join(work, 'state') };
const reports = join(work, 'reports');
const nslab = (...args) =>
  $({ env })`node bin/nslab.mjs scenario pid-ns --target vm ${args} --json --report-dir ${reports}`;
try {
  // The bundle, as an installed nslab runs: from a clone with newer sources bin/nslab.mjs would use tsx.
  await $`node scripts/build.mjs`;
  // One run first: the accelerator nslab uses here (after its own trial), and its saved guest.
  await nslab();
  const used = JSON.parse(readFileSync(join(reports, 'latest', 'report.json'), 'utf8')).targets[0].host
    .accelerator;
  const floors = await prepareFloors(work, used, env);
  if (!floors.restore) throw new Error('nslab saved no guest for this command line: no restore to compare');
  const times = await interleaved(
    {
      coldFloor: floors.cold,
      cold: () => nslab('--no-snapshot'),
      restoreFloor: floors.restore,
      restore: () => nslab(),
    },
    runs,
  );
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  const cold = m.cold / m.coldFloor;
  const restore = m.restore / m.restoreFloor;
  console.log(`runs per case: ${runs} (medians, ms; accelerator ${used})`);
  console.log(`  (a) cold floor: plain QEMU, secrets, ssh true       ${m.coldFloor.toFixed(0)}`);
  console.log(
    `  (b) nslab scenario pid-ns --target vm --no-snapshot  ${m.cold.toFixed(0)}   b/a ${cold.toFixed(2)}`,
  );
  console.log(`  (c) restore floor: QMP load, secrets, ssh true       ${m.restoreFloor.toFixed(0)}`);
  console.log(
    `  (d) nslab scenario pid-ns --target vm                ${m.restore.toFixed(0)}   d/c ${restore.toFixed(2)}`,
  );
  console.log(
    `all runs (ms): ${JSON.stringify(Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v.map(Math.round)])))}`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
