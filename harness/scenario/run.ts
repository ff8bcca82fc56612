import { tail } from '../util/text.ts';
import { checkExpectations, type ExpectationResult } from './expect.ts';
import { buildObservations, isolationFailure, type Observations } from './observations.ts';
import { parseProbeOutput, probeArgs, PROBE_SCRIPT } from './probe.ts';
import type { Scenario } from './types.ts';
import type { Skip, Target, TargetInfo } from '../targets/types.ts';
import { UnshareRuntime, type Runtime } from '../runtimes/index.ts';

/**
 * Under a VM on macOS or Windows the VM must bring a Linux kernel of its own: its kernel differs from the real
 * host's. (On a Linux host the two may or may not be the same build; no expectation fails on it, and the
 * report only compares their uname -s -r -v -m.)
 */
function hostLayerCheck(info: TargetInfo | undefined, o: Observations): ExpectationResult | undefined {
  const host = info?.host;
  if (
    info?.observer === 'host' ||
    info?.kind === 'native' ||
    !host?.kernel ||
    host.os === 'linux' ||
    !o.outside.kernel
  )
    return undefined;
  const differs =
    host.kernel.name !== o.outside.kernel.name || host.kernel.release !== o.outside.kernel.release;
  return {
    that: 'outside.kernel',
    op: 'differsFrom',
    value: 'host.kernel',
    actual: o.outside.kernel,
    other: host.kernel,
    ok: differs,
    why: `the ${info?.engine ? "engine's " : ''}VM runs its own Linux kernel, not the ${host.os} host's`,
  };
}

export type ScenarioStatus = 'pass' | 'fail' | 'skip' | 'error';

export interface ScenarioResult {
  name: string;
  title: string;
  question: string;
  status: ScenarioStatus;
  /** Why it was skipped or errored, as a stable name (`needs-root`) or a short sentence. */
  reason?: string;
  detail?: string;
  durationMs: number;
  /** When it started, in ms on its target's timeline (after the boot phases on a VM). */
  startMs?: number;
  observations?: Observations;
  expectations?: ExpectationResult[];
}

export function skippedResult(scenario: Scenario, skip: Skip): ScenarioResult {
  return {
    name: scenario.name,
    title: scenario.title,
    question: scenario.question,
    status: 'skip',
    reason: skip.reason,
    detail: skip.detail,
    durationMs: 0,
  };
}

/** How long one scenario may run before it is stopped and reported as an error (timeout). */
export const DEFAULT_SCENARIO_TIMEOUT_MS = 60_000;

export interface RunScenarioOptions {
  /** How the isolated process is made, prepared on this target; default unshare (rootless if info says so). */
  runtime?: Runtime;
  signal?: AbortSignal;
  /** What target.prepare() said; the VM's host layer and the default runtime's access come from it. */
  info?: TargetInfo;
  timeoutMs?: number;
}

/**
 * The checks a runtime's own account brings: its bookkeeping names the very process the probe found,
 * the one that is PID 1 inside (the seed article's method: `docker inspect`'s PID against PID 1 inside).
 */
function runtimeChecks(runtime: Runtime, o: Observations, hostPid: number | undefined): ExpectationResult[] {
  const facts = o.outside.runtime;
  if (!facts) return [];
  const checks: [key: string, why: string][] = [];
  if (runtime.name === 'docker')
    checks.push([
      'inspectPid',
      "docker inspect's .State.Pid is the host PID of the process that is PID 1 inside",
    ]);
  checks.push([
    'statePid',
    `${runtime.name === 'docker' ? "the daemon's runc" : 'runc'} records the same process as init_process_pid in its state.json`,
  ]);
  return checks.map(([key, why]) => ({
    that: `outside.runtime.${key}`,
    op: 'sameAs',
    value: 'outside.pid',
    actual: facts[key],
    other: hostPid,
    ok: hostPid !== undefined && facts[key] === hostPid,
    why,
  }));
}

/** Runs one scenario's probe on a prepared target and judges it against the scenario's expectations. */
export async function runScenario(
  scenario: Scenario,
  target: Target,
  options: RunScenarioOptions = {},
): Promise<ScenarioResult> {
  const { signal, info, timeoutMs = DEFAULT_SCENARIO_TIMEOUT_MS } = options;
  const runtime = options.runtime ?? new UnshareRuntime({ rootless: info?.access === 'userns' });
  const started = performance.now();
  const base = { name: scenario.name, title: scenario.title, question: scenario.question };
  const done = (r: Omit<ScenarioResult, 'name' | 'title' | 'question' | 'durationMs'>): ScenarioResult => ({
    ...base,
    ...r,
    durationMs: Math.round(performance.now() - started),
  });
  // A scenario command that never returns must not hang the run: the probe is stopped at the deadline.
  const deadline = AbortSignal.timeout(timeoutMs);
  const stop = signal ? AbortSignal.any([signal, deadline]) : deadline;
  let run;
  try {
    run = await target.runProbe(PROBE_SCRIPT, probeArgs(scenario, runtime), stop);
  } catch (error) {
    return done({ status: 'error', reason: 'probe-failed', detail: (error as Error).message });
  }
  if (signal?.aborted)
    return done({ status: 'error', reason: 'interrupted', detail: 'the run was interrupted' });
  if (deadline.aborted) {
    return done({
      status: 'error',
      reason: 'timeout',
      detail: `the scenario did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped (raise it with --timeout)`,
    });
  }
  if (run.exitCode !== 0) {
    return done({
      status: 'error',
      reason: 'probe-failed',
      detail: `the probe exited with ${run.exitCode}: ${tail(run.stderr) || '(no output)'}`,
    });
  }
  let records;
  try {
    records = parseProbeOutput(run.stdout);
  } catch (error) {
    return done({ status: 'error', reason: 'probe-output', detail: (error as Error).message });
  }
  const failure = isolationFailure(records);
  if (failure) {
    return done({
      status: 'error',
      reason: 'isolate-failed',
      detail: `starting the isolated process failed (exit ${failure.exit}): ${tail(failure.stderr) || '(no output)'}`,
    });
  }
  const observations = buildObservations(records, scenario, runtime.name);
  const expectations = checkExpectations(scenario.expect, observations, target.kind, runtime.name);
  const layer = hostLayerCheck(info, observations);
  if (layer) expectations.push(layer);
  const hostPid = records.get('outside.pid');
  expectations.push(
    ...runtimeChecks(runtime, observations, hostPid && /^\d+$/.test(hostPid) ? Number(hostPid) : undefined),
  );
  const failed = expectations.filter((e) => !e.ok);
  return done({
    status: failed.length === 0 ? 'pass' : 'fail',
    ...(failed.length > 0
      ? { reason: `${failed.length} of ${expectations.length} expectations failed` }
      : {}),
    observations,
    expectations,
  });
}
