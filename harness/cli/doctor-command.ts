import { onInterrupt } from './interrupt.ts';
import { Command } from 'commander';
import { ExitCode, type NslabError } from '../errors.ts';
import { doctorReport, formatDoctor, gatherDoctorFacts, type TrialFailure } from '../doctor/index.ts';
import { buildImage, hostArch } from '../image/index.ts';
import { AccelVerdicts } from '../vm/accel-verdict.ts';
import { InterruptedError, VmBuilder } from '../vm/vm.ts';
import type { CliState } from './cli-state.ts';
import { DEFAULT_IMAGE_CACHE, DEFAULT_LINUXKIT_YML } from './paths.ts';

const log = (l: string) => process.stderr.write(`nslab: ${l}\n`);

export function registerDoctorCommand(program: Command, state: CliState): void {
  program
    .command('doctor')
    .description('what this host can do: QEMU, accelerators, namespaces, runtime folder, image cache, tools')
    .option('--json', 'print the findings as JSON')
    .option(
      '--recheck',
      'forget the remembered accelerator verdicts, then boot a VM to find out again whether the hardware accelerator works',
    )
    .option(
      '--qemu <path>',
      'the qemu-system binary to look at (default: found on PATH and the usual install folders)',
    )
    .option('--cache <dir>', 'the image cache', DEFAULT_IMAGE_CACHE)
    .addHelpText(
      'after',
      '\nExit codes: 0 a VM run can start here; 3 it cannot (the output names what is missing and how to get it).',
    )
    .action(async (o: { json?: boolean; recheck?: boolean; qemu?: string; cache: string }) => {
      const verdicts = new AccelVerdicts();
      let trialFailed: TrialFailure | undefined;
      if (o.recheck) {
        log(`forgot ${await verdicts.forget()} remembered accelerator verdict(s) (${verdicts.file})`);
        const before = doctorReport(await gatherDoctorFacts({ cacheRoot: o.cache, qemu: o.qemu, verdicts }));
        // A trial is a real boot under --accel auto: the same proof, and the same memory, as a scenario run.
        if (!before.vmPossible) log('no trial boot: a VM run cannot start here (see below)');
        else if (before.accelerator.accel === 'tcg')
          log(`no trial boot: no hardware accelerator to try (${before.accelerator.reason})`);
        else trialFailed = await trialBoot(o, verdicts);
      }
      const facts = await gatherDoctorFacts({ cacheRoot: o.cache, qemu: o.qemu, verdicts });
      const report = doctorReport(facts, trialFailed);
      if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else process.stdout.write(formatDoctor(report));
      state.exitCode = report.vmPossible ? ExitCode.ok : ExitCode.environment;
    });
}

/**
 * Boots a VM under --accel auto and stops it: the verdict lands in `verdicts` as in any run. A boot that fails
 * even under TCG comes back as what is missing. Ctrl-C stops the trial VM (boot() removes its QEMU and keys);
 * a second one quits at once, and the exit hook still kills the QEMU.
 */
async function trialBoot(
  o: { qemu?: string; cache: string },
  verdicts: AccelVerdicts,
): Promise<TrialFailure | undefined> {
  const abort = new AbortController();
  let release = () => {};
  try {
    const image = await buildImage({
      config: DEFAULT_LINUXKIT_YML,
      arch: hostArch(),
      builder: 'auto',
      cacheRoot: o.cache,
      log,
    });
    release = onInterrupt(() => abort.abort());
    const vm = await new VmBuilder(image)
      .withQemu(o.qemu)
      .withAccel('auto')
      .withVerdicts(verdicts)
      .withSignal(abort.signal)
      .withLog(log)
      .boot();
    await vm.stop();
    return undefined;
  } catch (error) {
    if (error instanceof InterruptedError) throw error;
    const e = error as NslabError;
    return { message: e.message.split('\n')[0]!, hint: e.hint };
  } finally {
    release();
  }
}
