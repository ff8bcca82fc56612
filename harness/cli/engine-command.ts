import { join } from 'node:path';
import { Command } from 'commander';
import { ExitCode, NslabError, UsageError } from '../errors.ts';
import { PROJECT_ROOT } from '../paths.ts';
import { alive, sleep } from '../util/process.ts';
import { exposeDockerSocket, waitForDocker, type DockerSocket } from '../vm/docker-socket.ts';
import { InterruptedError } from '../vm/errors.ts';
import { checkQemuBinary } from '../vm/qemu-binary.ts';
import type { StartedVm } from '../vm/vm.ts';
import type { CliState } from './cli-state.ts';
import { interruptExitCode, onInterrupt } from './interrupt.ts';
import { configuredVmBuilder } from '../targets/index.ts';
import { addVmOptions, formatShowCommand, vmTargetOptions, type VmCliOptions } from './vm-target.ts';

/** nslab's own Docker engine VM: linuxkit.yml's VM plus dockerd. */
export const DEFAULT_ENGINE_YML = join(PROJECT_ROOT, 'linuxkit-engine.yml');

/** dockerd, containerd and their 150 MB of initramfs need more than the 512 MiB a scenario VM gets. */
const ENGINE_MEMORY_MIB = 1024;

const DEFAULT_READY_TIMEOUT_S = 300;

interface EngineUpOptions extends VmCliOptions {
  readyTimeout: string;
}

function readyTimeoutMs(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`--ready-timeout ${JSON.stringify(value)} is not a positive number of seconds`);
  return n * 1000;
}

/** addVmOptions says linuxkit.yml; this command boots linuxkit-engine.yml unless told otherwise. */
function engineDefaults(cmd: Command): Command {
  for (const option of cmd.options) {
    if (option.long === '--config') {
      option.default(DEFAULT_ENGINE_YML);
      option.description = 'vm: the LinuxKit configuration of the engine VM';
      // Commander copied the old default into the command's values when the option was added.
      cmd.setOptionValueWithSource('config', DEFAULT_ENGINE_YML, 'default');
    }
    if (option.long === '--image')
      option.description =
        'vm: boot this kernel + initrd + cmdline (an image of linuxkit-engine.yml) instead of building';
  }
  return cmd;
}

export function registerEngineCommands(program: Command, state: CliState): void {
  const engine = program
    .command('engine')
    .description("nslab's own Docker engine: a QEMU VM that runs dockerd, reached through DOCKER_HOST");

  engineDefaults(
    addVmOptions(
      engine
        .command('up')
        .description(
          'build linuxkit-engine.yml, boot it, and serve its dockerd on a Unix socket in the VM\'s private run folder (forwarded over SSH to 127.0.0.1:2375 in the guest); prints one line "DOCKER_HOST=unix://<socket>" on stdout once dockerd answers GET /_ping, progress on stderr, and runs until Ctrl-C or SIGTERM, which stop the VM and remove the socket (exit 130, 143)',
        ),
    ),
  )
    .option(
      '--ready-timeout <seconds>',
      'how long dockerd may take to answer once the VM has booted',
      String(DEFAULT_READY_TIMEOUT_S),
    )
    .addHelpText(
      'after',
      `
Containers have --network=none or --network=host only: the engine VM has no bridge and no iptables.
The VM's state.json (in its run folder, next to the socket) names the socket as dockerSocket.

Example, in two shells:
  nslab engine up --accel tcg     # prints DOCKER_HOST=unix://<run folder>/docker.sock, then keeps running
  DOCKER_HOST=unix://<run folder>/docker.sock docker run --rm --network=none <image> uname -r`,
    )
    .action(async (o: EngineUpOptions) => {
      if (o.qemu) await checkQemuBinary(o.qemu);
      const options = vmTargetOptions({ ...o, keep: false });
      const readyMs = readyTimeoutMs(o.readyTimeout);
      const say = (line: string) => process.stderr.write(`nslab: engine: ${line}\n`);
      if (o.showCommand) {
        const builder = (await configuredVmBuilder(options)).withMemory(ENGINE_MEMORY_MIB);
        return void process.stdout.write(formatShowCommand(await builder.showCommand()));
      }
      const abort = new AbortController();
      let stoppedBy: NodeJS.Signals | undefined;
      const release = onInterrupt((signal) => {
        stoppedBy = signal;
        abort.abort();
      });
      let vm: StartedVm | undefined;
      let socket: DockerSocket | undefined;
      try {
        const started = performance.now();
        const builder = (await configuredVmBuilder(options)).withMemory(ENGINE_MEMORY_MIB);
        const up = await builder.withSignal(abort.signal).boot();
        vm = up;
        const booted = performance.now();
        say(
          `VM ${up.state.name} booted in ${seconds(booted - started)} (QEMU PID ${up.pid}, ${up.state.accel}); waiting for dockerd…`,
        );
        socket = await exposeDockerSocket(up);
        await waitForDocker(up, socket.path, { timeoutMs: readyMs, signal: abort.signal });
        say(
          `dockerd answers after ${seconds(performance.now() - booted)} more (${seconds(performance.now() - started)} in all)`,
        );
        process.stdout.write(`DOCKER_HOST=unix://${socket.path}\n`);
        say('running until Ctrl-C or SIGTERM');
        while (!abort.signal.aborted && alive(up.pid)) await sleep(250);
        if (!abort.signal.aborted)
          throw new NslabError(`the engine VM ${up.state.name} stopped by itself (QEMU exited)`, {
            exitCode: ExitCode.failed,
          });
      } catch (error) {
        if (!(stoppedBy && error instanceof InterruptedError)) throw error;
      } finally {
        await socket?.close();
        await vm?.stop();
        release();
        if (vm) say(`stopped ${vm.state.name}`);
      }
      if (stoppedBy) state.exitCode = interruptExitCode(stoppedBy);
    });
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
