#!/usr/bin/env zx
// (a) the floor: a plain QEMU boot of the same kernel + initrd with the same machine flags, to the SSH banner
//     and one `true` over OpenSSH, driven by a few lines of shell;
// (b) `nslab scenario pid-ns --target vm` end to end.
// Medians of interleaved runs, and the ratio b/a. Usage: npm run bench:vm [-- --runs 5]
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argv } from 'zx';
import { $, interleaved, median } from './stats.mjs';

const runs = Number(argv.runs ?? 5);
$.verbose = false;
$.quiet = true;
const work = mkdtempSync(join(tmpdir(), 'nslab-bench-vm-'));
try {
  // The image and one set of keys for the baseline, made before any timing.
  const built = JSON.parse((await $`node bin/nslab.mjs image build --json`).stdout);
  await $`node --import tsx bench/prepare-baseline.ts ${built.dir} ${work}`;
  const qemuArgv = JSON.parse(readFileSync(join(work, 'argv.json'), 'utf8'));
  writeFileSync(
    join(work, 'baseline.sh'),
    `#!/bin/sh
# Boot, wait for the console's ready line, then for an SSH login that runs true; stop.
# The same machine flags as nslab uses. (Polling ssh before the guest has an address costs a 2 s timeout.)
shift
rm -f ${work}/console.log
"$@" >/dev/null 2>&1 &
` +
      `n=0
until grep -q 'nslab: ready' ${work}/console.log 2>/dev/null; do
  n=$((n + 1)); [ $n -gt 6000 ] && { kill $!; exit 1; }; sleep 0.02
done
until ssh -q -i ${work}/client_key -o UserKnownHostsFile=${work}/known_hosts -o StrictHostKeyChecking=yes -o ConnectTimeout=2 -o BatchMode=yes -p 10122 root@127.0.0.1 true 2>/dev/null; do
  n=$((n + 1)); [ $n -gt 1200 ] && { kill $!; exit 1; }; sleep 0.05
done
kill $!; wait
`,
    { mode: 0o755 },
  );
  const times = await interleaved(
    {
      baseline: () => $`sh ${join(work, 'baseline.sh')} ${work} ${qemuArgv}`,
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
