import { readFile, readlink, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { EnvironmentError } from '../errors.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { renderHtml } from './html.ts';
import { renderJunit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import type { RunReport } from './types.ts';

export interface WrittenReport {
  dir: string;
  json: string;
  html: string;
  junit: string;
  markdown: string;
}

/**
 * Writes `<reportDir>/<runId>/` report.json and, rendered from it, report.html, junit.xml and summary.md,
 * each atomically, then points `<reportDir>/latest` at the run: a relative symlink, or a one-line file
 * where links are not allowed.
 */
export async function writeReport(report: RunReport, reportDir: string): Promise<WrittenReport> {
  const dir = join(reportDir, report.runId);
  const files = {
    json: join(dir, 'report.json'),
    html: join(dir, 'report.html'),
    junit: join(dir, 'junit.xml'),
    markdown: join(dir, 'summary.md'),
  };
  try {
    // report.json first: the others are renderings of it.
    await writeFileAtomic(files.json, `${JSON.stringify(report, null, 2)}\n`);
    await Promise.all([
      writeFileAtomic(files.html, renderHtml(report)),
      writeFileAtomic(files.junit, renderJunit(report)),
      writeFileAtomic(files.markdown, renderMarkdown(report)),
    ]);
    await pointLatest(reportDir, report.runId);
  } catch (error) {
    // Nothing half-written stays: this run's folder goes, `latest` still names the previous run.
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    const e = error as NodeJS.ErrnoException;
    throw new EnvironmentError(
      `cannot write the report in ${dir}: ${e.code === 'ENOSPC' ? 'no space left on the device' : e.message}`,
      e.code === 'ENOSPC'
        ? 'free some space there, or pass --report-dir on another disk; earlier reports are untouched'
        : 'check that the folder is writable, or pass --report-dir elsewhere',
      error,
    );
  }
  return { dir, ...files };
}

async function pointLatest(reportDir: string, runId: string): Promise<void> {
  const latest = join(reportDir, 'latest');
  const tmp = join(reportDir, `.latest.${process.pid}.tmp`);
  await rm(tmp, { force: true });
  try {
    await symlink(runId, tmp, 'dir');
    await rename(tmp, latest);
  } catch (error) {
    await rm(tmp, { force: true });
    const code = (error as NodeJS.ErrnoException).code;
    // Windows without developer mode cannot make links; a pointer file says the same thing.
    if (code !== 'EPERM' && code !== 'EISDIR' && code !== 'ENOTDIR') throw error;
    await rm(latest, { recursive: false, force: true }).catch(() => {});
    await writeFileAtomic(latest, `${runId}\n`);
  }
}

/** The run id `latest` points at, whichever form it has. */
export async function latestRunId(reportDir: string): Promise<string | undefined> {
  try {
    return await readlink(join(reportDir, 'latest'));
  } catch {
    try {
      return (await readFile(join(reportDir, 'latest'), 'utf8')).trim() || undefined;
    } catch {
      return undefined;
    }
  }
}
