import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { EnvironmentError, UsageError } from '../errors.ts';
import { mergeReports } from '../report/merge.ts';
import { readReport } from '../report/read.ts';
import { writeRunsIndex } from '../report/runs-index.ts';
import type { RunReport } from '../report/types.ts';
import { latestRunId, writeReport } from '../report/write.ts';
import { newRunId } from '../run/run-id.ts';
import { hostUname } from '../targets/index.ts';
import type { CliState } from './cli-state.ts';

/** How to show a file in the desktop's browser, or why not to try. */
export type Opener = { argv: string[] } | { reason: string };

/** CI=false and CI=0 are how people say "not CI"; any other value is a yes. */
const truthy = (v: string | undefined) =>
  v !== undefined && !['', '0', 'false'].includes(v.trim().toLowerCase());

/**
 * Whether and how `nslab report open` opens `file`. Never in CI (CI, GITHUB_ACTIONS, GITLAB_CI), never when
 * stdout is not a terminal (a script reads it, no one is watching), never on Linux without a graphical session.
 * Pure: the caller passes the platform, environment and TTY state.
 */
export function openerFor(
  platform: NodeJS.Platform,
  env: NodeJS.ProcessEnv,
  isTTY: boolean,
  file: string,
): Opener {
  const ci = ['CI', 'GITHUB_ACTIONS', 'GITLAB_CI'].find((k) => truthy(env[k]));
  if (ci) return { reason: `${ci} is set: a CI job has no one to look at a browser` };
  if (!isTTY) return { reason: 'stdout is not a terminal (a pipe or a script is reading it)' };
  switch (platform) {
    case 'darwin':
      return { argv: ['open', file] };
    case 'win32':
      // `start` is cmd's built-in; its first quoted word is the window title, hence the empty "". The line is
      // passed verbatim (see openInBrowser), so the path is quoted here: Windows paths cannot contain `"`.
      return { argv: ['cmd', '/c', 'start', '""', `"${file}"`] };
    case 'linux':
    case 'freebsd':
    case 'openbsd':
      if (!env.DISPLAY && !env.WAYLAND_DISPLAY)
        return { reason: 'no graphical session (neither DISPLAY nor WAYLAND_DISPLAY is set)' };
      return { argv: ['xdg-open', file] };
    default:
      return { reason: `nslab knows no way to open a browser on ${platform}` };
  }
}

/** Starts the opener detached and returns once it has started: the browser itself is not waited for. */
async function openInBrowser(argv: string[]): Promise<void> {
  const [command, ...args] = argv as [string, ...string[]];
  const child = spawn(command, args, {
    detached: true,
    stdio: 'ignore',
    windowsHide: true,
    windowsVerbatimArguments: process.platform === 'win32',
  });
  // Only whether it started: main() exits right after, which would swallow a late 'error' (no xdg-open).
  const failed = await new Promise<Error | undefined>((done) => {
    child.once('spawn', () => done(undefined));
    child.once('error', done);
  });
  child.unref();
  if (failed) {
    throw new EnvironmentError(
      `could not start ${command} to open the report: ${failed.message}`,
      command === 'xdg-open'
        ? 'install xdg-utils (apt-get install xdg-utils), or open the file above yourself'
        : 'open the file above yourself',
    );
  }
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

export function registerReportCommands(program: Command, _state: CliState): void {
  const report = program
    .command('report')
    .description('work with written reports: merge runs from several hosts into one, open the latest');

  report
    .command('merge')
    .description(
      'merge the report.json of two or more runs (e.g. one per host: Linux, macOS, Windows) into one report with a column per target',
    )
    .argument(
      '<report.json...>',
      'the reports to merge, two or more; schema version 1 files are upgraded as they are read',
    )
    .option(
      '-o, --output <dir>',
      'the report folder to write to (required): <dir>/<new run id>/ (report.json, report.html, junit.xml, summary.md), <dir>/latest, <dir>/index.html',
    )
    .addHelpText(
      'after',
      '\nPrints the merged report.html path. Each target keeps its own host facts; the summary is the sum of the runs.\nExit codes: 0 written; 2 fewer than two files, no --output, a file that is not a readable nslab report (schema\nversion 1 or 2), or the same run given twice.',
    )
    .action(async (files: string[], o: { output?: string }) => {
      if (files.length < 2) {
        throw new UsageError(
          `report merge needs two or more report.json files; got ${files.length}`,
          'e.g. nslab report merge linux/report.json mac/report.json -o reports',
        );
      }
      if (!o.output) {
        throw new UsageError(
          'report merge needs -o, --output <dir>: the report folder to write the merged report to',
          `e.g. nslab report merge ${files.join(' ')} -o reports`,
        );
      }
      const reports: RunReport[] = [];
      for (const file of files) reports.push(await readReport(file));
      const merged = mergeReports(reports, {
        runId: newRunId(),
        host: { os: process.platform, arch: process.arch, uname: await hostUname(), node: process.version },
        argv: process.argv.slice(2),
      });
      const dir = resolve(o.output);
      const written = await writeReport(merged, dir);
      const index = await writeRunsIndex(dir);
      const s = merged.summary;
      process.stderr.write(
        `nslab: merged ${reports.length} runs, ${merged.targets.length} targets (${merged.view.targets.map((t) => t.key).join(', ')}): ${s.pass} passed, ${s.fail} failed, ${s.skip} skipped, ${s.error} errors\nnslab: ${written.json}\nnslab: runs: ${index}\n`,
      );
      process.stdout.write(`${written.html}\n`);
    });

  report
    .command('open')
    .description(
      "print the latest report's report.html path and open it in the default browser (not in CI or a pipe; see below); also rewrites <dir>/index.html, the list of runs",
    )
    .option('--report-dir <dir>', 'the report folder whose latest report to open', 'reports')
    .addHelpText(
      'after',
      "\nPrints the report's path on stdout. It does not open it, and says why on stderr, in CI (CI, GITHUB_ACTIONS or\nGITLAB_CI set), when stdout is not a terminal, or on Linux without DISPLAY or WAYLAND_DISPLAY.\nExit codes: 0 opened, or not opened for one of these reasons; 2 no report in the folder; 3 the opener (xdg-open,\nopen, cmd) could not be started.",
    )
    .action(async (o: { reportDir: string }) => {
      const dir = resolve(o.reportDir);
      const runId = await latestRunId(dir);
      const html = runId ? join(dir, runId, 'report.html') : undefined;
      // A usage error (2), not an environment one (3): nothing is missing from this machine; the folder named
      // (or the default one) holds no run yet, which the user fixes with the command line, not by installing.
      if (!html || !(await exists(html))) {
        throw new UsageError(
          `no report in ${dir}${runId ? ` (latest names ${runId}, which has no report.html)` : ''}`,
          'run a scenario first (nslab scenario pid-ns), or point --report-dir at the folder that holds the reports',
        );
      }
      process.stdout.write(`${html}\n`);
      // The list of runs beside it is kept current here too; failing to write it must not stop the opening.
      await writeRunsIndex(dir).catch((error: Error) =>
        process.stderr.write(`nslab: could not rewrite ${join(dir, 'index.html')}: ${error.message}\n`),
      );
      const opener = openerFor(process.platform, process.env, process.stdout.isTTY === true, html);
      if ('reason' in opener) {
        process.stderr.write(`nslab: not opening it in a browser: ${opener.reason}\n`);
        return;
      }
      await openInBrowser(opener.argv);
    });
}
