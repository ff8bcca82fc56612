import { checkQemuBinary } from '../vm/qemu-binary.ts';
import { onInterrupt } from './interrupt.ts';
import { Command } from 'commander';
import { EnvironmentError, ExitCode } from '../errors.ts';
import { askedNetwork, configuredVmBuilder, findKeptVm } from '../targets/index.ts';
import { shellJoin } from '../util/shell-quote.ts';
import { runtimeDir } from '../vm/runtime-dir.ts';
import { writeKnownHosts } from '../vm/run-folder.ts';
import { guestNetworkOf, readState, vmDirs } from '../vm/state.ts';
import { StartedVm } from '../vm/vm.ts';
import type { CliState } from './cli-state.ts';
import { addVmOptions, formatShowCommand, vmTargetOptions, type VmCliOptions } from '../targets/index.ts';

async function keptVm(): Promise<StartedVm> {
  const vm = await findKeptVm();
  if (!vm) throw new EnvironmentError('no VM is running', 'start one with `nslab vm up`');
  return vm;
}

export function registerVmCommands(program: Command, state: CliState): void {
  const vm = program
    .command('vm')
    .description('boot the VM and keep it running, log in, run commands, stop it');

  addVmOptions(
    vm.command('up').description('boot the VM and leave it running; prints how to connect'),
  ).action(async (o: VmCliOptions) => {
    if (o.qemu) await checkQemuBinary(o.qemu);
    const options = vmTargetOptions({ ...o, keep: true });
    if (o.showCommand)
      return void process.stdout.write(
        formatShowCommand(await (await configuredVmBuilder(options)).showCommand()),
      );
    const existing = await findKeptVm(options.arch);
    const wanted = askedNetwork(options);
    if (existing && guestNetworkOf(existing.state) !== wanted) {
      existing.detach();
      throw new EnvironmentError(
        `a kept VM is running with another guest network: ${existing.state.name} (${guestNetworkOf(existing.state)}; asked: ${wanted})`,
        `stop it with nslab vm down, then run vm up again${wanted === 'isolated' ? '' : ' --guest-network'}`,
      );
    }
    if (existing) {
      process.stdout.write(
        `already running: ${existing.state.name} (ssh on 127.0.0.1:${existing.sshPort})\n`,
      );
      return;
    }
    const abort = new AbortController();
    const release = onInterrupt(() => abort.abort());
    try {
      const started = await (await configuredVmBuilder(options)).withSignal(abort.signal).boot();
      started.detach();
      const s = started.state;
      const knownHosts = await writeKnownHosts(started.dir, s.sshPort, s.hostKeyBlob);
      process.stdout.write(
        [
          `VM ${s.name} is up (QEMU PID ${s.pid}, ${s.accel}, ssh on 127.0.0.1:${s.sshPort}, guest network ${guestNetworkOf(s)}).`,
          `  nslab vm ssh                 log in`,
          `  nslab vm exec -- uname -a    run one command`,
          `  ssh -i ${s.clientKeyFile} -o UserKnownHostsFile=${knownHosts} -p ${s.sshPort} root@127.0.0.1`,
          `  nslab vm down                stop it`,
          '',
        ].join('\n'),
      );
    } finally {
      release();
    }
  });

  vm.command('ssh')
    .description('an interactive shell in the running VM')
    .action(async () => {
      const v = await keptVm();
      state.exitCode = await v.shell();
      process.exit(state.exitCode);
    });

  vm.command('exec')
    .description('run one command in the running VM: nslab vm exec -- CMD [ARGS...]')
    .argument('<command...>', 'the command and its arguments (quoted for the guest shell by nslab)')
    .action(async (words: string[]) => {
      const v = await keptVm();
      const r = await v.exec(shellJoin(words));
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      state.exitCode = r.code ?? ExitCode.failed;
    });

  vm.command('status')
    .description('the VMs nslab has running')
    .action(async () => {
      let n = 0;
      for (const dir of await vmDirs(runtimeDir())) {
        const s = await readState(dir);
        const v = s && (await StartedVm.attach(dir));
        if (!s || !v) continue;
        n++;
        process.stdout.write(
          `${s.name}  pid ${s.pid}  ${s.arch}  ${s.accel}  ssh 127.0.0.1:${s.sshPort}  network ${guestNetworkOf(s)}  ${s.keep ? 'kept' : `owned by pid ${s.ownerPid}`}  since ${s.bootedAt}\n`,
        );
      }
      if (n === 0) process.stdout.write('no VM is running\n');
    });

  vm.command('down')
    .description('stop the VMs that nslab vm up (or scenario --keep) left running')
    .option('--clean', 'ask the guest to power off (ACPI) instead of stopping QEMU at once')
    .action(async (o: { clean?: boolean }) => {
      let n = 0;
      for (let v = await findKeptVm(); v; v = await findKeptVm()) {
        await v.stop({ clean: o.clean });
        process.stdout.write(`stopped ${v.state.name}\n`);
        n++;
      }
      if (n === 0) process.stdout.write('no VM is running\n');
    });
}
