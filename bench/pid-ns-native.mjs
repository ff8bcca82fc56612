#!/usr/bin/env zx
// End-to-end cost of `nslab scenario pid-ns --target native` against a floor doing the same work without
// Node: probe.sh run by `sh -s` with the words nslab gives it (bench/floor.mjs). Medians over interleaved
// runs, their ratio and difference (Node's start, the scenario's load and the report). Usage: npm run bench
// [-- --runs 9]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argv } from 'zx';
import { prepareNativeFloor } from './floor.mjs';
import { $, interleaved, median } from './stats.mjs';

const runs = Number(argv.runs ?? 7);
const work = mkdtempSync(join(tmpdir(), 'nslab-bench-'));
$.verbose = false;
$.quiet = true;
try {
  // The bundle, as an installed nslab runs: from a clone with newer sources bin/nslab.mjs would use tsx.
  await $`node scripts/build.mjs`;
  const floor = await prepareNativeFloor(work);
  const times = await interleaved(
    {
      floor,
      nslab: () =>
        $`node bin/nslab.mjs scenario pid-ns --target native --json --report-dir ${join(work, 'r')}`,
    },
    runs,
  );
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  console.log(`runs per case: ${runs} (medians, ms)`);
  console.log(`  floor  sh -s probe.sh, pid-ns's words, no Node        ${m.floor.toFixed(1)}`);
  console.log(`  nslab  scenario pid-ns --target native --json         ${m.nslab.toFixed(1)}`);
  console.log(
    `ratio nslab/floor: ${(m.nslab / m.floor).toFixed(1)}; nslab - floor: ${(m.nslab - m.floor).toFixed(0)} ms`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
