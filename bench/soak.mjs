#!/usr/bin/env zx
// Soak: `scenario pid-ns --target vm` N times in a row (default 30), then M at once (default 4), after one
// warm-up run (the image, the accelerator verdict, the saved guest). Counts failures and leaks: QEMU
// processes left, files left in the runtime folder, new listening TCP ports, new temporary folders. Also
// the spread of the timings and the peak memory of nslab (per run) and of QEMU. Tolerated: zero of each.
// Usage: npm run soak [-- --runs 30 --parallel 4 --json]
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearInterval, setInterval, setTimeout } from 'node:timers';
import { argv } from 'zx';
import { $, median } from './stats.mjs';

const runs = Number(argv.runs ?? 30);
const parallel = Number(argv.parallel ?? 4);
$.verbose = false;
$.quiet = true;
const work = mkdtempSync(join(tmpdir(), 'soak-'));
const runtime = join(work, 'run');
const env = { ...process.env, NSLAB_RUNTIME_DIR: runtime, XDG_STATE_HOME: join(work, 'state') };

/**
 * Processes of this soak with their own peak RSS (VmHWM, KiB): QEMU (its command line names the runtime
 * folder) or nslab itself (node, with this soak's report folder on its command line).
 */
function processes(kind) {
  const found = [];
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      const isQemu = cmd.startsWith('qemu-system') || cmd.includes('/qemu-system');
      const ours =
        kind === 'qemu'
          ? isQemu && cmd.includes(runtime)
          : !isQemu && cmd.includes('bin/nslab.mjs') && cmd.includes(work);
      if (!ours) continue;
      const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${d}/status`, 'utf8'));
      found.push({ pid: Number(d), hwmKiB: hwm ? Number(hwm[1]) : 0 });
    } catch {
      // gone
    }
  }
  return found;
}
/** Listening TCP ports (IPv4 and IPv6), from /proc/net. */
function listening() {
  const ports = new Set();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A') ports.add(parseInt(cols[1].split(':')[1], 16));
    }
  }
  return ports;
}
const temps = () => new Set(readdirSync(tmpdir()).filter((f) => f.startsWith('nslab')));
const runtimeFiles = () => (existsSync(runtime) ? readdirSync(runtime) : []);

const qemus = () => processes('qemu');
let qemuPeakKiB = 0;
let nslabPeakKiB = 0;
const sampler = setInterval(() => {
  for (const q of qemus()) qemuPeakKiB = Math.max(qemuPeakKiB, q.hwmKiB);
  for (const n of processes('nslab')) nslabPeakKiB = Math.max(nslabPeakKiB, n.hwmKiB);
}, 50);

/** One run: its wall time and whether it passed. */
async function one(i) {
  const t0 = performance.now();
  const r = await $({
    env,
    nothrow: true,
  })`node bin/nslab.mjs scenario pid-ns --target vm --json --report-dir ${join(work, `reports-${i}`)}`;
  const ms = performance.now() - t0;
  let pass = false;
  try {
    pass = r.exitCode === 0 && JSON.parse(r.stdout).summary.pass === 1;
  } catch {
    // not a report: a failure
  }
  return { ms, pass, error: pass ? undefined : r.stderr.split('\n').slice(-4).join(' / ') };
}

function leaks(before) {
  const newPorts = [...listening()].filter((p) => !before.ports.has(p));
  const newTemps = [...temps()].filter((t) => !before.temps.has(t));
  return { qemu: qemus().length, runtimeFiles: runtimeFiles().length, ports: newPorts, temps: newTemps };
}

try {
  await one('warm-up');
  const before = { ports: listening(), temps: temps() };
  const sequential = [];
  for (let i = 0; i < runs; i++) sequential.push(await one(i));
  const afterSequential = leaks(before);
  const together = await Promise.all(Array.from({ length: parallel }, (_, i) => one(`p${i}`)));
  await new Promise((r) => setTimeout(r, 500));
  const afterParallel = leaks(before);
  clearInterval(sampler);
  const times = sequential.map((r) => r.ms).sort((a, b) => a - b);
  const pct = (p) => Math.round(times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]);
  const failed = [...sequential, ...together].filter((r) => !r.pass);
  const leakCount = (l) => l.qemu + l.runtimeFiles + l.ports.length + l.temps.length;
  const result = {
    runs,
    parallel,
    failures: failed.length,
    failureTails: failed.map((f) => f.error),
    leaks: { afterSequential, afterParallel },
    sequentialMs: {
      median: Math.round(median(times)),
      p10: pct(10),
      p90: pct(90),
      min: Math.round(times[0]),
      max: Math.round(times.at(-1)),
    },
    parallelMs: together.map((r) => Math.round(r.ms)),
    peakMiB: {
      nslab: Math.round(nslabPeakKiB / 1024),
      qemu: Math.round(qemuPeakKiB / 1024),
    },
  };
  if (argv.json) console.log(JSON.stringify(result, null, 2));
  else {
    const s = result.sequentialMs;
    console.log(
      `${runs} runs in a row: median ${s.median} ms, p10 ${s.p10}, p90 ${s.p90}, min ${s.min}, max ${s.max}`,
    );
    console.log(`${parallel} at once: ${result.parallelMs.join(', ')} ms`);
    console.log(
      `failures: ${result.failures}${failed.length ? ` (${result.failureTails.join(' | ')})` : ''}`,
    );
    for (const [when, l] of Object.entries(result.leaks))
      console.log(
        `leaks ${when}: QEMU ${l.qemu}, runtime files ${l.runtimeFiles}, new listening ports ${l.ports.length}, new temp folders ${l.temps.length}${l.temps.length ? ` (${l.temps.join(', ')})` : ''}`,
      );
    console.log(`peak memory (VmHWM): nslab ${result.peakMiB.nslab} MiB, QEMU ${result.peakMiB.qemu} MiB`);
  }
  if (result.failures > 0 || leakCount(afterSequential) + leakCount(afterParallel) > 0) process.exitCode = 1;
} finally {
  clearInterval(sampler);
  rmSync(work, { recursive: true, force: true });
}
