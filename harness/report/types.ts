import type { ScenarioStatus } from '../scenario/run.ts';
import type { TargetReport } from './target-report.ts';
import type { ReportView } from './view.ts';

export type { TargetReport } from './target-report.ts';

/** 2 added `view` (verdicts computed once) and scenarios' `startMs`; version 1 files are upgraded on read. */
export const SCHEMA_VERSION = 2;

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
