import { hostUname } from '../targets/index.ts';
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
  // A target that stops before its scenarios run is reported as it stands, then the run goes on.
  const stop = (report: TargetReport) => {
    emit({ type: 'target-ready', report });
    return report;
  };
  try {
    let prepared;
    // The target's timeline starts here: scenarios are placed on it (view.ts draws them).
    const preparing = performance.now();
    try {
      prepared = await target.prepare(options.signal);
    } catch (error) {
      const e = error as Error & { hint?: string };
      const why = {
        reason: error instanceof EnvironmentError ? 'environment' : 'prepare-failed',
        detail: e.message,
        ...(e.hint ? { hint: e.hint } : {}),
      };
      const base = { kind: target.kind, uname: '', os: '' };
      return stop(
        endEarly(base, 'error', why, options.scenarios, () => ({
          reason: 'target-error',
          detail: e.message,
        })),
      );
    }
    const { info, skip } = prepared;
    if (skip) return stop(endEarly(info, 'skip', skip, options.scenarios));
    const preflight = await runPreflight(target, options);
    runtime = createRuntime(options.runtime ?? 'unshare', target);
    const using = runtime;
    const base = {
      ...info,
      runtime: { name: using.name, version: 'unknown' },
      ...(preflight ? { preflight } : {}),
    };
    // A runtime that cannot work here (no daemon, not root) skips every scenario with its reason.
    let ready: Awaited<ReturnType<Runtime['prepare']>>;
    try {
      ready = await using.prepare(target, info, preflight, options.signal);
    } catch (error) {
      // Ctrl-C while the runtime was getting ready: nothing ran, nothing failed.
      if (options.signal?.aborted)
        return stop(
          endEarly(base, 'error', { reason: 'interrupted', detail: 'the run was interrupted' }, []),
        );
      const detail = `preparing ${using.name} failed: ${(error as Error).message}`;
      return stop(endEarly(base, 'error', { reason: 'runtime-failed', detail }, options.scenarios));
    }
    base.runtime = ready.info;
    const runtimeSkip = ready.skip;
    // A scenario not written for this runtime says so; the others, why the runtime cannot run here.
    if (runtimeSkip)
      return stop(
        endEarly(base, 'skip', runtimeSkip, options.scenarios, (s) => notForRuntime(s, using) ?? runtimeSkip),
      );
    const report: TargetReport = { ...base, status: 'ready', scenarios: [] };
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
 * A target that ended before its scenarios ran: its status and why, and each scenario with a reason (the
 * target's, unless `reasonFor` says otherwise), as an error where the target broke.
 */
function endEarly(
  base: Omit<TargetReport, 'status' | 'scenarios'>,
  status: 'skip' | 'error',
  why: Skip,
  scenarios: readonly Scenario[],
  reasonFor: (s: Scenario) => Skip = () => why,
): TargetReport {
  return {
    ...base,
    status,
    reason: why.reason,
    detail: why.detail,
    ...(why.hint ? { hint: why.hint } : {}),
    scenarios: scenarios.map((s) => ({
      ...skippedResult(s, reasonFor(s)),
      ...(status === 'error' ? { status } : {}),
    })),
  };
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
