import { UsageError } from '../errors.ts';
import { NSLAB_VERSION } from '../version.ts';
import { SCHEMA_VERSION, type RunReport } from './types.ts';
import { buildView } from './view.ts';

export interface MergeOptions {
  /** The merged report's own run id (newRunId()). */
  runId: string;
  /** The machine that merges: it ran none of the targets, each of which keeps its own host facts. */
  host: RunReport['host'];
  argv: string[];
}

/**
 * One report from several runs (e.g. the same scenario on Linux, macOS and Windows): the targets of every
 * input in input order, each with its own host facts, the summaries summed, the earliest start and the latest
 * end, and a view computed over all of them, one column per target. Pure; the inputs are not changed.
 * Inputs must be schema version 2 (readReport upgrades version 1 files).
 */
export function mergeReports(reports: RunReport[], options: MergeOptions): RunReport {
  if (reports.length === 0) throw new UsageError('nothing to merge: no reports were given');
  for (const r of reports) {
    if (r.schemaVersion !== SCHEMA_VERSION) {
      throw new UsageError(
        `report ${r.runId} has schema version ${JSON.stringify(r.schemaVersion)}; merging takes version ${SCHEMA_VERSION}`,
        'read report files with readReport, which upgrades version 1; a newer version needs a newer nslab',
      );
    }
  }
  // A merged input stands for the runs it merged, so that a merge of merges still lists the original runs.
  const mergedFrom = reports.flatMap((r) => r.mergedFrom ?? [{ runId: r.runId, host: r.host }]);
  const seen = new Set<string>();
  for (const m of mergedFrom) {
    // The same run twice would show each of its targets twice, as if measured again.
    if (seen.has(m.runId))
      throw new UsageError(
        `run ${m.runId} is given more than once`,
        'give each run once: its targets would otherwise appear twice, as if measured twice',
      );
    seen.add(m.runId);
  }
  const times = (key: 'startedAt' | 'finishedAt') =>
    reports.map((r) => r[key]).sort((a, b) => Date.parse(a) - Date.parse(b));
  const startedAt = times('startedAt')[0]!;
  const finishedAt = times('finishedAt').at(-1)!;
  const targets = reports.flatMap((r) => structuredClone(r.targets));
  const summary = { pass: 0, fail: 0, skip: 0, error: 0 };
  for (const r of reports)
    for (const k of Object.keys(summary) as (keyof typeof summary)[]) summary[k] += r.summary[k];
  return {
    schemaVersion: SCHEMA_VERSION,
    runId: options.runId,
    nslabVersion: NSLAB_VERSION,
    startedAt,
    finishedAt,
    durationMs: Math.max(0, Date.parse(finishedAt) - Date.parse(startedAt)),
    host: options.host,
    argv: options.argv,
    interrupted: reports.some((r) => r.interrupted),
    targets,
    summary,
    view: buildView(targets),
    mergedFrom,
  };
}
