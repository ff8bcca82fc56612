import { forTerminal } from '../util/capped-output.ts';
import { installInterruptHandling } from './interrupt.ts';
import { Command, CommanderError } from 'commander';
import { ExitCode, NslabError } from '../errors.ts';
import { NSLAB_VERSION } from '../version.ts';
import type { CliState } from './cli-state.ts';
import { registerScenarioCommands } from './scenario-command.ts';
import { registerImageCommands } from './image-command.ts';
import { registerVmCommands } from './vm-command.ts';
import { registerEngineCommands } from './engine-command.ts';
import { registerDoctorCommand } from './doctor-command.ts';
import { registerReportCommands } from './report-command.ts';
import { flushStdio } from '../util/flush-stdio.ts';

/** Builds the `nslab` command tree. Separate from main() so that tests can inspect --help. */
export function buildProgram(state: CliState = { exitCode: ExitCode.ok }): Command {
  const program = new Command('nslab')
    .description(
      'Is a container a virtual machine or a process? Runs Linux namespace experiments natively and in a QEMU VM, and reports what each side sees.',
    )
    .version(NSLAB_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true })
    .addHelpText(
      'after',
      `
Exit codes:
  0  every scenario passed or was skipped with a reason
  1  a scenario failed or errored
  2  usage or configuration error
  3  this machine cannot run what was asked (the message says what is missing)

Reports: every run writes reports/<run-id>/report.json and report.html; reports/latest points at the newest.`,
    )
    .exitOverride();
  registerScenarioCommands(program, state);
  registerImageCommands(program, state);
  registerVmCommands(program, state);
  registerEngineCommands(program, state);
  registerDoctorCommand(program, state);
  registerReportCommands(program, state);
  return program;
}

/**
 * Runs the CLI and returns the exit code once its output is handed to the OS (the caller exits at once:
 * bin/nslab.mjs); never throws for expected errors.
 */
export async function main(argv: string[]): Promise<number> {
  const code = await run(argv);
  await flushStdio();
  return code;
}

async function run(argv: string[]): Promise<number> {
  const state: CliState = { exitCode: ExitCode.ok };
  installInterruptHandling();
  const program = buildProgram(state);
  program.commands.forEach(function applyExitOverride(c: Command) {
    c.exitOverride();
    c.commands.forEach(applyExitOverride);
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return state.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
      )
        return 0;
      if (error.code === 'commander.executeSubCommandAsync') return error.exitCode;
      return ExitCode.usage;
    }
    if (error instanceof NslabError) {
      // A message may quote a guest (a console tail): nothing in it may drive the terminal.
      process.stderr.write(
        forTerminal(`nslab: ${error.message}\n${error.hint ? `  → ${error.hint}\n` : ''}`),
      );
      return error.exitCode;
    }
    process.stderr.write(`nslab: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
    return ExitCode.failed;
  }
}
