// What the whole scenario catalogue costs over one boot, against pid-ns alone (interleaved, medians):
//   (a) nslab scenario pid-ns --target vm      one scenario: the boot plus one probe
//   (b) nslab scenario all --target vm         every shipped scenario over the same kind of boot (one at a time)
//   (c) nslab scenario all --target native     every shipped scenario on this host, end to end
// Aims (issue 8, under TCG here): (b) - (a) at most 3 s; (c) under 1.5 s.
// Usage: npm run bench:catalogue [-- --runs 5]
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { DEFAULT_SCENARIOS_DIR } from '../harness/cli/paths.ts';

const i = process.argv.indexOf('--runs');
const runs = i > 0 ? Number(process.argv[i + 1]) : 5;
const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const work = mkdtempSync(join(tmpdir(), 'nslab-bench-catalogue-'));
// A private runtime folder (a VM kept elsewhere is never reused) and host memory.
const env = { NSLAB_RUNTIME_DIR: join(work, 'run'), XDG_STATE_HOME: join(work, 'state') };
const nslab = async (...args: string[]) => {
  const t0 = performance.now();
  await execa('node', ['bin/nslab.mjs', 'scenario', ...args, '--report-dir', join(work, 'reports')], { env });
  return performance.now() - t0;
};
try {
  const count = readdirSync(DEFAULT_SCENARIOS_DIR).filter((f) => f.endsWith('.yaml')).length;
  const cases = {
    pidNsVm: () => nslab('pid-ns', '--target', 'vm'),
    allVm: () => nslab('all', '--target', 'vm'),
    allNative: () => nslab('all', '--target', 'native'),
  };
  for (const run of Object.values(cases)) await run(); // warm-up: the image, the accelerator verdict
  const times = Object.fromEntries(Object.keys(cases).map((k) => [k, [] as number[]]));
  for (let r = 0; r < runs; r++) for (const [k, run] of Object.entries(cases)) times[k]!.push(await run());
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as Record<
    keyof typeof cases,
    number
  >;
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log(`runs per case: ${runs} (medians); ${count} scenarios`);
  console.log(`  (a) scenario pid-ns --target vm       ${s(m.pidNsVm)}`);
  console.log(`  (b) scenario all --target vm          ${s(m.allVm)}   +${s(m.allVm - m.pidNsVm)} vs (a)`);
  console.log(`  (c) scenario all --target native      ${s(m.allNative)}`);
  console.log(`aims: (b) - (a) at most 3 s; (c) under 1.5 s`);
  const missed = [
    ...(m.allVm - m.pidNsVm > 3000 ? [`(b) - (a) is ${s(m.allVm - m.pidNsVm)}, over 3 s`] : []),
    ...(m.allNative >= 1500 ? [`(c) is ${s(m.allNative)}, not under 1.5 s`] : []),
  ];
  for (const x of missed) console.log(`  aim missed: ${x}`);
  if (missed.length > 0) process.exitCode = 1;
  console.log(
    `all runs (ms): ${JSON.stringify(Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v.map(Math.round)])))}`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
