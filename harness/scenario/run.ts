import { tail } from '../util/text.ts';
import { checkExpectations, type ExpectationResult } from './expect.ts';
import { buildObservations, isolationFailure, type Observations } from './observations.ts';
import { parseProbeOutput, probeArgs, PROBE_SCRIPT } from './probe.ts';
import type { Scenario } from './types.ts';
import type { Skip, Target, TargetInfo } from '../targets/types.ts';

/**
 * Under a VM on macOS or Windows the VM must bring a Linux kernel of its own: its kernel differs from the real
 * host's. (On a Linux host the two may or may not differ; the report shows both and does not judge.)
 */
function hostLayerCheck(info: TargetInfo | undefined, o: Observations): ExpectationResult | undefined {
  const host = info?.host;
  if (info?.kind !== 'vm' || !host?.kernel || host.os === 'linux' || !o.outside.kernel) return undefined;
  const differs =
    host.kernel.name !== o.outside.kernel.name || host.kernel.release !== o.outside.kernel.release;
  return {
    that: 'outside.kernel',
    op: 'differsFrom',
    value: 'host.kernel',
    actual: o.outside.kernel,
    other: host.kernel,
    ok: differs,
    why: `the VM runs its own Linux kernel, not the ${host.os} host's`,
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

/** Runs one scenario's probe on a prepared target and judges it against the scenario's expectations. */
/** How long one scenario may run before it is stopped and reported as an error (timeout). */
export const DEFAULT_SCENARIO_TIMEOUT_MS = 60_000;

export async function runScenario(
  scenario: Scenario,
  target: Target,
  signal?: AbortSignal,
  info?: TargetInfo,
  timeoutMs: number = DEFAULT_SCENARIO_TIMEOUT_MS,
): Promise<ScenarioResult> {
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
    run = await target.runProbe(
      PROBE_SCRIPT,
      probeArgs(scenario, { extraNamespaces: target.extraNamespaces() }),
      stop,
    );
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
  const observations = buildObservations(records, scenario);
  const expectations = checkExpectations(scenario.expect, observations, target.kind);
  const layer = hostLayerCheck(info, observations);
  if (layer) expectations.push(layer);
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
