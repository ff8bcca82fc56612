#!/usr/bin/env zx
// (a) the floor: a plain QEMU boot of the same kernel + initrd with the same machine flags, to the SSH banner
//     and one `true` over OpenSSH, driven by a few lines of shell;
// (b) `nslab scenario pid-ns --target vm` end to end.
// Medians of interleaved runs, and the ratio b/a. Usage: npm run bench:vm [-- --runs 5]
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argv } from 'zx';
import { $, interleaved, median } from './stats.mjs';
import { prepareFloor } from './floor.mjs';

const runs = Number(argv.runs ?? 5);
$.verbose = false;
$.quiet = true;
const work = mkdtempSync(join(tmpdir(), 'nslab-bench-vm-'));
try {
  // One run first: the accelerator nslab uses here (after its own trial), which the floor then uses too.
  await $`node bin/nslab.mjs scenario pid-ns --target vm --json --report-dir ${join(work, 'reports')}`;
  const used = JSON.parse(readFileSync(join(work, 'reports', 'latest', 'report.json'), 'utf8')).targets[0]
    .host.accelerator;
  const floor = await prepareFloor(work, used);
  const times = await interleaved(
    {
      baseline: floor,
      nslab: () =>
        $`node bin/nslab.mjs scenario pid-ns --target vm --json --report-dir ${join(work, 'reports')}`,
    },
    runs,
  );
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  const phases = JSON.parse(readFileSync(join(work, 'reports', 'latest', 'report.json'), 'utf8')).targets[0]
    .phases;
  console.log(`runs per case: ${runs} (medians, ms; TCG unless an accelerator is usable)`);
  console.log(`  (a) plain QEMU boot + ssh true (shell)         ${m.baseline.toFixed(0)}`);
  console.log(`  (b) nslab scenario pid-ns --target vm --json    ${m.nslab.toFixed(0)}`);
  console.log(`ratio b/a: ${(m.nslab / m.baseline).toFixed(2)}`);
  console.log(
    `all runs (ms): ${JSON.stringify(Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v.map(Math.round)])))}`,
  );
  console.log(`last nslab run's boot phases (ms from spawn): ${JSON.stringify(phases)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
