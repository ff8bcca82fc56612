import { hostUname } from '../targets/native.ts';
import { runScenario, skippedResult, type ScenarioResult } from '../scenario/run.ts';
import type { Scenario } from '../scenario/types.ts';
import {
  parsePreflight,
  preflightSkip,
  PREFLIGHT_SCRIPT,
  toolsOf,
  type Preflight,
} from '../scenario/preflight.ts';
import { isolateRequest } from '../scenario/probe.ts';
import { createRuntime, type Runtime } from '../runtimes/index.ts';
import type { Skip } from '../targets/types.ts';
import type { RuntimeName } from '../vocabulary.ts';
import type { Target } from '../targets/types.ts';
import { SCHEMA_VERSION, type RunReport, type TargetReport } from '../report/types.ts';
import { buildView } from '../report/view.ts';
import { newRunId } from './run-id.ts';
import { NSLAB_VERSION } from '../version.ts';
import { EnvironmentError } from '../errors.ts';

/** How many scenarios run at once on one target (in the VM each over an SSH connection of its own). */
const CONCURRENCY = 4;

export type RunEvent =
  | { type: 'target-start'; kind: string }
  | { type: 'target-ready'; report: TargetReport }
  | { type: 'scenario-start'; target: string; scenario: string }
  | { type: 'scenario-done'; target: string; result: ScenarioResult };

export interface RunOptions {
  scenarios: Scenario[];
  targets: Target[];
  argv?: string[];
  signal?: AbortSignal;
  /** Per scenario; default DEFAULT_SCENARIO_TIMEOUT_MS. */
  scenarioTimeoutMs?: number;
  onEvent?: (event: RunEvent) => void;
  /** How the isolated processes are made on every target; default unshare. */
  runtime?: RuntimeName;
}

/**
 * Runs every scenario on every target, in order, and returns the report. Each target is closed whatever
 * happens; an interrupt (signal) stops before the next step and the report keeps what finished.
 */
export async function runAll(options: RunOptions): Promise<RunReport> {
  const started = new Date();
  const t0 = performance.now();
  const emit = options.onEvent ?? (() => {});
  const targets: TargetReport[] = [];
  for (const target of options.targets) {
    if (options.signal?.aborted) break;
    emit({ type: 'target-start', kind: target.kind });
    const report = await runTarget(target, options, emit);
    targets.push(report);
  }
  const summary = { pass: 0, fail: 0, skip: 0, error: 0 };
  for (const t of targets) for (const s of t.scenarios) summary[s.status] += 1;
  return {
    schemaVersion: SCHEMA_VERSION,
    runId: newRunId(started),
    nslabVersion: NSLAB_VERSION,
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    durationMs: Math.round(performance.now() - t0),
    host: { os: process.platform, arch: process.arch, uname: await hostUname(), node: process.version },
    argv: options.argv ?? [],
    interrupted: options.signal?.aborted ?? false,
    targets,
    summary,
    view: buildView(targets),
  };
}

async function runTarget(
  target: Target,
  options: RunOptions,
  emit: (e: RunEvent) => void,
): Promise<TargetReport> {
  let runtime: Runtime | undefined;
  try {
    let prepared;
    // The target's timeline starts here: scenarios are placed on it (view.ts draws them).
    const preparing = performance.now();
    try {
      prepared = await target.prepare(options.signal);
    } catch (error) {
      const e = error as Error & { hint?: string };
      const failed: TargetReport = {
        kind: target.kind,
        uname: '',
        os: '',
        status: 'error',
        reason: error instanceof EnvironmentError ? 'environment' : 'prepare-failed',
        detail: e.message,
        ...(e.hint ? { hint: e.hint } : {}),
        scenarios: options.scenarios.map((s) => ({
          ...skippedResult(s, { reason: 'target-error', detail: e.message }),
          status: 'error' as const,
        })),
      };
      emit({ type: 'target-ready', report: failed });
      return failed;
    }
    const { info, skip } = prepared;
    if (skip) {
      const report: TargetReport = {
        ...info,
        status: 'skip',
        reason: skip.reason,
        detail: skip.detail,
        ...(skip.hint ? { hint: skip.hint } : {}),
        scenarios: options.scenarios.map((s) => skippedResult(s, skip)),
      };
      emit({ type: 'target-ready', report });
      return report;
    }
    const preflight = await runPreflight(target, options);
    runtime = createRuntime(options.runtime ?? 'unshare');
    const using = runtime;
    const report: TargetReport = {
      ...info,
      status: 'ready',
      runtime: { name: using.name, version: 'unknown' },
      ...(preflight ? { preflight } : {}),
      scenarios: [],
    };
    // A runtime that cannot work here (no daemon, not root) skips every scenario with its reason.
    let ready: Awaited<ReturnType<Runtime['prepare']>>;
    try {
      ready = await using.prepare(target, info, preflight, options.signal);
    } catch (error) {
      if (options.signal?.aborted) {
        // Ctrl-C while the runtime was getting ready: nothing ran, nothing failed.
        Object.assign(report, { status: 'error', reason: 'interrupted', detail: 'the run was interrupted' });
        emit({ type: 'target-ready', report });
        return report;
      }
      const detail = `preparing ${using.name} failed: ${(error as Error).message}`;
      Object.assign(report, { status: 'error', reason: 'runtime-failed', detail });
      report.scenarios = options.scenarios.map((s) => ({
        ...skippedResult(s, { reason: 'runtime-failed', detail }),
        status: 'error' as const,
      }));
      emit({ type: 'target-ready', report });
      return report;
    }
    report.runtime = ready.info;
    const runtimeSkip = ready.skip;
    if (runtimeSkip) {
      Object.assign(report, {
        status: 'skip',
        reason: runtimeSkip.reason,
        detail: runtimeSkip.detail,
        ...(runtimeSkip.hint ? { hint: runtimeSkip.hint } : {}),
      });
      // A scenario not written for this runtime says so; the others, why the runtime cannot run here.
      report.scenarios = options.scenarios.map((s) =>
        skippedResult(s, notForRuntime(s, using) ?? runtimeSkip),
      );
      emit({ type: 'target-ready', report });
      return report;
    }
    emit({ type: 'target-ready', report });

    // Scenarios are independent (each isolates its own process): a few at a time, so that one's round trip
    // to the target overlaps another's work there. The report keeps the catalogue's order.
    const results: (ScenarioResult | undefined)[] = [];
    let next = 0;
    const worker = async () => {
      while (next < options.scenarios.length && !options.signal?.aborted) {
        const i = next++;
        const scenario = options.scenarios[i]!;
        emit({ type: 'scenario-start', target: target.kind, scenario: scenario.name });
        const startMs = Math.round(performance.now() - preparing);
        // What the preflight shows cannot work here is a named skip, never a run that errors or passes.
        const skip = scenarioSkip(scenario, using, preflight);
        const result = skip
          ? skippedResult(scenario, skip)
          : await runScenario(scenario, target, {
              runtime: using,
              signal: options.signal,
              info,
              timeoutMs: options.scenarioTimeoutMs,
            });
        if (options.signal?.aborted && result.status === 'error') return;
        results[i] = skip ? result : { ...result, startMs };
        emit({ type: 'scenario-done', target: target.kind, result });
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, options.scenarios.length) }, worker));
    report.scenarios.push(...results.filter((r): r is ScenarioResult => r !== undefined));
    return report;
  } finally {
    // The runtime cleans up on the target (runc's root folder), so it goes first.
    await runtime?.close().catch(() => {});
    await target.close();
  }
}

/**
 * Why a scenario cannot run with this runtime on this target, if it cannot: the scenario is not meant for
 * the runtime, the preflight shows a missing namespace or tool, or the runtime cannot make what it asks.
 */
function scenarioSkip(
  scenario: Scenario,
  runtime: Runtime,
  preflight: Preflight | undefined,
): Skip | undefined {
  return (
    notForRuntime(scenario, runtime) ??
    (preflight && preflightSkip(scenario, preflight, runtime.name)) ??
    runtime.refuses(isolateRequest(scenario, runtime.name))
  );
}

/** The scenario's `runtimes:` does not name this runtime. */
function notForRuntime(scenario: Scenario, runtime: Runtime): Skip | undefined {
  if (scenario.runtimes.includes(runtime.name)) return undefined;
  return {
    reason: `not-for-runtime:${runtime.name}`,
    detail: `${scenario.name} is written for ${scenario.runtimes.join(', ')} (its runtimes:), not ${runtime.name}`,
    hint: `run it with --runtime ${scenario.runtimes[0]}`,
  };
}

/** The preflight, once per target: what the scenarios can count on there. Undefined if it could not run. */
async function runPreflight(target: Target, options: RunOptions): Promise<Preflight | undefined> {
  try {
    const tools = [...toolsOf(options.scenarios, options.runtime), 'unshare'];
    const r = await target.runProbe(PREFLIGHT_SCRIPT, tools, options.signal);
    return r.exitCode === 0 ? parsePreflight(r.stdout) : undefined;
  } catch {
    return undefined;
  }
}
