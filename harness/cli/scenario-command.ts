import { forTerminal } from '../util/capped-output.ts';
import { checkQemuBinary } from '../vm/qemu-binary.ts';
import { hostPlatform } from '../platform/index.ts';
import { interruptExitCode, onInterrupt } from './interrupt.ts';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { ExitCode, UsageError } from '../errors.ts';
import { loadScenarioDir, loadScenariosNamed } from '../scenario/load.ts';
import type { Scenario } from '../scenario/types.ts';
import { runAll } from '../run/run.ts';
import { writeReport } from '../report/write.ts';
import { appendStepSummary } from '../report/step-summary.ts';
import { writeRunsIndex } from '../report/runs-index.ts';
import { driverFor, kindsInAll, TARGET_DRIVERS, type Target, type VmTarget } from '../targets/index.ts';
import type { RunReport } from '../report/types.ts';
import { RUNTIME_NAMES, TARGET_KINDS, type RuntimeName, type TargetKind } from '../vocabulary.ts';
import { DEFAULT_SCENARIOS_DIR } from './paths.ts';
import { progressPrinter } from './progress.ts';
import { formatSummary } from './summary.ts';
import type { CliState } from './cli-state.ts';
import { formatShowCommand, type VmCliOptions } from '../targets/index.ts';

/** Every registered target's kind, and all (those whose drivers join it on this host). */
export const TARGET_CHOICES = [...TARGET_KINDS, 'all'] as const;
type TargetChoice = TargetKind | 'all';

/** Native where namespaces are native (Linux); elsewhere the VM is the only place they exist. */
export function defaultTarget(platform: NodeJS.Platform = process.platform): TargetChoice {
  return platform === 'linux' ? 'native' : 'vm';
}

interface ScenarioOptions extends VmCliOptions {
  target: TargetChoice;
  runtime: RuntimeName;
  timeout: string;
  json?: boolean;
  reportDir: string;
  scenariosDir: string;
}

/** --target's help, from the drivers: what each is, and what all takes here. */
function targetHelp(os: NodeJS.Platform): string {
  const all = kindsInAll(os).join(' and ');
  return `where to run: ${TARGET_DRIVERS.map((d) => d.summary).join(', ')}, or all (${all} on this host)`;
}

/**
 * The runtime for the targets of a run: the one asked for, or the target's own default where it has one
 * (engine: docker). A runtime a target cannot use is a usage error, not a run of skips.
 */
export function runtimeFor(kinds: readonly TargetKind[], asked: RuntimeName, explicit: boolean): RuntimeName {
  for (const kind of kinds) {
    const allowed = driverFor(kind).runtimes;
    if (!allowed || allowed.includes(asked)) continue;
    if (!explicit && kinds.length === 1) return allowed[0]!;
    throw new UsageError(
      `--runtime ${asked} does not run on --target ${kind}`,
      `the ${kind} target makes its isolated processes with ${allowed.join(' or ')}: use --runtime ${allowed[0]}, or leave --runtime out`,
    );
  }
  return asked;
}

/** The scenarios a run asks for, or a usage error that lists the known names. */
async function pick(dir: string, name: string): Promise<Scenario[]> {
  const found = await loadScenariosNamed(dir, name);
  if (found.length > 0 || name === 'all') return found;
  const known = (await loadScenarioDir(dir)).map((s) => s.name);
  throw new UsageError(
    `no scenario named "${name}"`,
    `known scenarios: ${known.join(', ') || '(none)'}; or "all" (see nslab list)`,
  );
}

/** 0 all passed or skipped; 1 something failed; 3 only because a target could not run here; 130 Ctrl-C. */
export function exitCodeFor(report: RunReport): number {
  const { fail, error } = report.summary;
  if (report.interrupted) return ExitCode.interrupted;
  if (fail + error === 0) return ExitCode.ok;
  const brokenTargets = report.targets.filter((t) => t.status === 'error');
  if (fail === 0 && brokenTargets.length > 0 && brokenTargets.every((t) => t.reason === 'environment')) {
    return ExitCode.environment;
  }
  return ExitCode.failed;
}

export function registerScenarioCommands(program: Command, state: CliState): void {
  const scenario = program
    .command('scenario')
    .description('run one scenario (or all) on the chosen targets and write a report')
    .argument('<name>', 'a scenario name from `nslab list`, or "all"')
    .addOption(
      new Option('-t, --target <target>', targetHelp(hostPlatform.os))
        .choices(TARGET_CHOICES)
        .default(defaultTarget()),
    )
    .addOption(
      new Option(
        '-r, --runtime <runtime>',
        'how the isolated process is made: unshare (util-linux), runc (an OCI bundle; native as root, and in the VM), or docker (native, needs a running dockerd; the only one, and the default, on --target engine)',
      )
        .choices(RUNTIME_NAMES)
        .default('unshare'),
    )
    .option('--json', "print the run's report JSON on stdout and nothing else there")
    .option('--report-dir <dir>', 'where reports are written', 'reports')
    .option('--scenarios-dir <dir>', 'where scenario files are read from', DEFAULT_SCENARIOS_DIR)
    .option('--timeout <seconds>', 'how long one scenario may run before it is stopped', '60');
  // Each target's own options (vm: --arch, --accel ...; wsl: --wsl-distro), from its driver.
  for (const driver of TARGET_DRIVERS) driver.addOptions?.(scenario);
  scenario.action(async (name: string, options: ScenarioOptions, command: Command) => {
    if (options.qemu) await checkQemuBinary(options.qemu);
    const timeout = Number(options.timeout);
    if (!Number.isFinite(timeout) || timeout <= 0) {
      throw new UsageError(
        `--timeout ${JSON.stringify(options.timeout)} is not a positive number of seconds`,
      );
    }
    const scenarios = await pick(options.scenariosDir, name);
    const kinds = options.target === 'all' ? kindsInAll(hostPlatform.os) : [options.target];
    const runtime = runtimeFor(kinds, options.runtime, command.getOptionValueSource('runtime') === 'cli');
    if (options.showCommand) {
      if (!kinds.includes('vm'))
        throw new UsageError(
          `--show-command shows the QEMU command line: use it with --target vm or all, not ${options.target}`,
        );
      const vm = driverFor('vm').create({ ...options }) as VmTarget;
      return void process.stdout.write(formatShowCommand(await vm.showCommand()));
    }
    const targets: Target[] = kinds.map((kind) => driverFor(kind).create({ ...options }));

    // Ctrl-C or SIGTERM: the first stops the run at the next safe point and still writes the report; a
    // second quits at once (the VMs this process owns are killed on the way out).
    const abort = new AbortController();
    let stoppedBy: NodeJS.Signals | undefined;
    const release = onInterrupt((signal) => {
      stoppedBy = signal;
      process.stderr.write(
        `\nnslab: interrupted (${signal}); stopping and writing the report (Ctrl-C again to quit now)\n`,
      );
      abort.abort();
    });
    try {
      const report = await runAll({
        scenarios,
        targets,
        argv: process.argv.slice(2),
        signal: abort.signal,
        scenarioTimeoutMs: timeout * 1000,
        runtime,
        onEvent: progressPrinter(),
      });
      const written = await writeReport(report, resolve(options.reportDir));
      // In a GitHub Actions job, the same summary on the run's page.
      await appendStepSummary(await readFile(written.markdown, 'utf8'));
      // reports/index.html: every run so far, newest first (a failure to list them costs the run nothing).
      await writeRunsIndex(resolve(options.reportDir)).catch((error: Error) =>
        process.stderr.write(`nslab: reports index not written: ${error.message}\n`),
      );
      if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else process.stdout.write(`${forTerminal(formatSummary(report))}\nreport: ${written.html}\n`);
      if (options.json) process.stderr.write(`nslab: report: ${written.html}\n`);
      state.exitCode = exitCodeFor(report);
      if (stoppedBy && state.exitCode === ExitCode.interrupted) state.exitCode = interruptExitCode(stoppedBy);
    } finally {
      release();
    }
  });

  program
    .command('list')
    .description('list the scenarios, one line each')
    .option('--scenarios-dir <dir>', 'where scenario files are read from', DEFAULT_SCENARIOS_DIR)
    .action(async (options: { scenariosDir: string }) => {
      const scenarios = await loadScenarioDir(options.scenariosDir);
      const width = Math.max(0, ...scenarios.map((s) => s.name.length));
      for (const s of scenarios) process.stdout.write(`${s.name.padEnd(width)}  ${s.title}\n`);
    });
}
