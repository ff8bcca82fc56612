import { checkExpectations, type ExpectationResult } from './expect.ts';
import { buildObservations, isolationFailure, type Observations } from './observations.ts';
import { parseProbeOutput, probeArgs, PROBE_SCRIPT } from './probe.ts';
import type { Scenario } from './types.ts';
import type { Skip, Target } from '../target/types.ts';

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

const tail = (text: string, lines = 12) => text.trimEnd().split('\n').slice(-lines).join('\n');

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
export async function runScenario(
  scenario: Scenario,
  target: Target,
  signal?: AbortSignal,
): Promise<ScenarioResult> {
  const started = performance.now();
  const base = { name: scenario.name, title: scenario.title, question: scenario.question };
  const done = (r: Omit<ScenarioResult, 'name' | 'title' | 'question' | 'durationMs'>): ScenarioResult => ({
    ...base,
    ...r,
    durationMs: Math.round(performance.now() - started),
  });
  let run;
  try {
    run = await target.runProbe(
      PROBE_SCRIPT,
      probeArgs(scenario, { extraNamespaces: target.extraNamespaces() }),
      signal,
    );
  } catch (error) {
    return done({ status: 'error', reason: 'probe-failed', detail: (error as Error).message });
  }
  if (signal?.aborted)
    return done({ status: 'error', reason: 'interrupted', detail: 'the run was interrupted' });
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
