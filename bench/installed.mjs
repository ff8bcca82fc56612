#!/usr/bin/env zx
// The installed package against the clone: `nslab scenario pid-ns --json` from a tarball installed into a
// prefix of its own (npm pack, npm install -g) and `node bin/nslab.mjs scenario pid-ns --json` from this
// clone, interleaved, medians and their ratio (aim: at most 1.2). Builds the clone's bundle first, so that
// both run a bundle, as users of each do.
// Usage: npm run bench:install [-- --runs 9]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argv } from 'zx';
import { $, interleaved, median } from './stats.mjs';

const runs = Number(argv.runs ?? 9);
const tmp = mkdtempSync(join(tmpdir(), 'nslab-bench-install-'));
const work = join(tmp, 'work');
mkdirSync(work);
$.verbose = false;
$.quiet = true;
try {
  await $`node scripts/build.mjs`;
  const [info] = JSON.parse((await $`npm pack --json --pack-destination ${tmp}`).stdout);
  await $`npm install --global --prefix ${join(tmp, 'prefix')} --prefer-offline --no-audit --no-fund ${join(tmp, info.filename)}`;
  const installed = join(tmp, 'prefix', 'bin', 'nslab');
  const times = await interleaved(
    {
      clone: () => $`node bin/nslab.mjs scenario pid-ns --json --report-dir ${join(tmp, 'clone-reports')}`,
      installed: () => $({ cwd: work })`${installed} scenario pid-ns --json`,
    },
    runs,
  );
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  console.log(`runs per case: ${runs} (medians, ms)`);
  console.log(`  clone      node bin/nslab.mjs scenario pid-ns --json   ${m.clone.toFixed(0)}`);
  console.log(`  installed  nslab scenario pid-ns --json (npm -g)        ${m.installed.toFixed(0)}`);
  console.log(`ratio installed/clone: ${(m.installed / m.clone).toFixed(2)} (aim: at most 1.2)`);
  if (m.installed / m.clone > 1.2) {
    console.log(`  aim missed: ratio ${(m.installed / m.clone).toFixed(2)}, over 1.2`);
    process.exitCode = 1;
  }
  if (argv.json) console.log(JSON.stringify({ runs, times, medians: m }));
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
