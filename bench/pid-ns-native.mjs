#!/usr/bin/env zx
// End-to-end cost of `nslab scenario pid-ns --target native` against the bare minimum the same
// experiment needs: `unshare --pid --fork --mount-proc true`. Medians over several interleaved runs.
// Usage: npm run bench [-- --runs 9]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argv } from 'zx';
import { $, interleaved, median } from './stats.mjs';

const runs = Number(argv.runs ?? 7);
const reports = mkdtempSync(join(tmpdir(), 'nslab-bench-'));
$.verbose = false;
$.quiet = true;
try {
  const times = await interleaved(
    {
      baseline: () => $`unshare --pid --fork --mount-proc true`,
      nslab: () => $`node bin/nslab.mjs scenario pid-ns --target native --json --report-dir ${reports}`,
    },
    runs,
  );
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  console.log(`runs per case: ${runs} (medians, ms)`);
  console.log(`  baseline  unshare --pid --fork --mount-proc true   ${m.baseline.toFixed(1)}`);
  console.log(`  nslab     scenario pid-ns --target native --json   ${m.nslab.toFixed(1)}`);
  console.log(`ratio nslab/baseline: ${(m.nslab / m.baseline).toFixed(1)}x`);
} finally {
  rmSync(reports, { recursive: true, force: true });
}
