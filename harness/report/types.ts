import type { ScenarioResult, ScenarioStatus } from '../scenario/run.ts';
import type { TargetInfo } from '../targets/types.ts';
import type { RuntimeInfo } from '../runtimes/index.ts';
import type { Preflight } from '../targets/preflight.ts';

export const SCHEMA_VERSION = 1;

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

/** One run: what was asked, where it ran, what each scenario saw. Documented by report.schema.json. */
export interface RunReport {
  schemaVersion: typeof SCHEMA_VERSION;
  runId: string;
  nslabVersion: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** The machine nslab itself ran on. */
  host: { os: string; arch: string; uname: string; node: string };
  argv: string[];
  interrupted: boolean;
  targets: TargetReport[];
  summary: Record<ScenarioStatus, number>;
}
