import type { ScenarioResult, ScenarioStatus } from '../scenario/run.ts';
import type { TargetInfo } from '../targets/types.ts';
import type { RuntimeInfo } from '../runtimes/index.ts';
import type { ReportView } from './view.ts';
import type { Preflight } from '../targets/preflight.ts';

/** 2 added `view` (verdicts computed once) and scenarios' `startMs`; version 1 files are upgraded on read. */
export const SCHEMA_VERSION = 2;

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
  /** Every verdict and figure the renderers show, computed once from `targets` (view.ts). */
  view: ReportView;
  /** Set when this report merges others (nslab report merge): which runs, from which hosts. */
  mergedFrom?: { runId: string; host: RunReport['host'] }[];
}
