import type { ScenarioResult } from '../scenario/run.ts';
import type { TargetInfo } from '../targets/types.ts';
import type { RuntimeInfo } from '../runtimes/index.ts';
import type { Preflight } from '../targets/preflight.ts';

/** One target of a run: what it is, whether it could run, what it offered, and each scenario's result. */
export interface TargetReport extends TargetInfo {
  /** ready: the target ran the scenarios; skip: it could not run here (reason says why); error: it broke. */
  status: 'ready' | 'skip' | 'error';
  reason?: string;
  detail?: string;
  hint?: string;
  /** How the isolated processes were made there: the runtime and its version line. */
  runtime?: RuntimeInfo;
  /** What the target offered the scenarios: uid, capabilities, namespaces, sysctls, kernel options, tools. */
  preflight?: Preflight;
  scenarios: ScenarioResult[];
}
