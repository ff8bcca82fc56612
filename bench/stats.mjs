// Small helpers shared by the benchmarks: time a command, take medians.
import { $ } from 'zx';

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Runs the command and returns its wall time in ms; a failing command stops the benchmark. */
export async function timeIt(command) {
  const t0 = performance.now();
  await command();
  return performance.now() - t0;
}

/**
 * Runs each case `runs` times, interleaved so that machine noise hits all cases alike, after one warm-up each.
 * Returns { name: [ms...] }.
 */
export async function interleaved(cases, runs) {
  const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (const run of Object.values(cases)) await run();
  for (let i = 0; i < runs; i++) {
    for (const [name, run] of Object.entries(cases)) times[name].push(await timeIt(run));
  }
  return times;
}

export { $ };
