import { readFile } from 'node:fs/promises';
import { ConfigError, UsageError, type SourcePosition } from '../errors.ts';
import { SCHEMA_VERSION, type RunReport, type TargetReport } from './types.ts';
import { buildView } from './view.ts';

/** The line and column of a character offset in `text`, both from 1. */
function positionAt(file: string, text: string, offset: number): SourcePosition {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { file, line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

/** Where a top-level key's value starts, else the start of the file: the error then points at it. */
function keyPosition(file: string, text: string, key: string): SourcePosition {
  const match = new RegExp(`"${key}"\\s*:\\s*`).exec(text);
  return positionAt(file, text, match ? match.index + match[0].length : 0);
}

/**
 * Reads a report.json written by any nslab that wrote schema 1 or 2. Version 2 is returned as it is;
 * version 1 (before `view`) is upgraded: its view is computed from its targets, as a run would have.
 * Anything else (another version, not JSON, no targets) is an error naming the file; exit 2.
 */
export async function readReport(file: string): Promise<RunReport> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new UsageError(
      `cannot read report ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`,
      'give the path of a report.json, e.g. reports/latest/report.json',
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    // V8 says where it stopped as "at position N", or that the text ended first: point there.
    const message = (error as Error).message;
    const at = /position (\d+)/.exec(message);
    const offset = at ? Number(at[1]) : /end of JSON input/.test(message) ? text.length : 0;
    throw new ConfigError(
      positionAt(file, text, offset),
      '',
      `report ${file} is not JSON: ${message}`,
      'nslab reads the report.json a run writes; is this the report.html, or a file cut short?',
    );
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(
      positionAt(file, text, 0),
      '',
      `report ${file} is not an nslab report: its JSON is not an object`,
    );
  }
  const report = raw as Record<string, unknown>;
  const version = report.schemaVersion;
  if (version !== 1 && version !== SCHEMA_VERSION) {
    const newer = typeof version === 'number' && version > SCHEMA_VERSION;
    throw new ConfigError(
      keyPosition(file, text, 'schemaVersion'),
      'schemaVersion',
      `report ${file} has schema version ${JSON.stringify(version ?? null)}; this nslab reads versions 1 and 2`,
      newer
        ? 'it was written by a newer nslab: read it with that version, or update this one'
        : 'it is not a report this nslab wrote; run the scenario again to get a fresh one',
    );
  }
  if (!Array.isArray(report.targets)) {
    throw new ConfigError(
      keyPosition(file, text, 'targets'),
      'targets',
      `report ${file} has no targets array, so it holds no results to read`,
      'nslab reads the report.json a run writes (reports/<run-id>/report.json)',
    );
  }
  // A version 2 view from before the target drivers (no `layered`) is computed again from its targets.
  const stale = (report.view as RunReport['view'] | undefined)?.targets?.some((t) => t.layered === undefined);
  if (version === SCHEMA_VERSION && !stale) return raw as RunReport;
  // Version 1 had no view: compute it now, exactly as a version 2 run computes it from its targets.
  return {
    ...(raw as Omit<RunReport, 'schemaVersion' | 'view'>),
    schemaVersion: SCHEMA_VERSION,
    view: buildView(report.targets as TargetReport[]),
  };
}
