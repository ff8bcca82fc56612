import type { BuiltImage } from '../image/manifest.ts';
import { hostPlatform, type Platform } from '../platform/index.ts';
import type { GuestNetwork } from '../vocabulary.ts';
import type { AccelChoice } from './accel.ts';
import { AccelVerdicts } from './accel-verdict.ts';
import { bootVm } from './boot.ts';
import { showCommand, type PlannedCommand } from './show-command.ts';
import type { StartedVm } from './started-vm.ts';
import type { VmConfig } from './vm-config.ts';

/**
 * Boots the image with QEMU, in the builder style of testcontainers: configure, then one terminal `boot()`.
 *   await using vm = await new VmBuilder(image).withAccel('tcg').boot();
 *   await vm.exec('uname -a');
 */
export class VmBuilder {
  private readonly config: VmConfig;

  constructor(image: BuiltImage) {
    this.config = {
      image,
      accel: 'auto',
      keep: false,
      memoryMiB: 512,
      extraCmdline: '',
      log: () => {},
      platform: hostPlatform,
      verdicts: new AccelVerdicts(),
      snapshots: true,
      guestNetwork: 'isolated',
    };
  }
  /** open: the guest reaches the host's loopback and beyond through QEMU's user network (default: isolated). */
  withGuestNetwork(network: GuestNetwork): this {
    this.config.guestNetwork = network;
    return this;
  }
  /** false: always boot cold, and save nothing (--no-snapshot). */
  /** Another host OS's decisions on this machine, where they can run here (tests: Windows' TCP channels). */
  withPlatform(platform: Platform): this {
    this.config.platform = platform;
    return this;
  }

  withSnapshots(on: boolean): this {
    this.config.snapshots = on;
    return this;
  }
  withQemu(path: string | undefined): this {
    this.config.qemu = path;
    return this;
  }
  withAccel(accel: AccelChoice): this {
    this.config.accel = accel;
    return this;
  }
  withKeep(keep: boolean): this {
    this.config.keep = keep;
    return this;
  }
  withMemory(mib: number): this {
    this.config.memoryMiB = mib;
    return this;
  }
  withBootTimeout(ms: number | undefined): this {
    this.config.bootTimeoutMs = ms;
    return this;
  }
  /** Appended to the image's kernel command line (tests use it to make a guest panic). */
  withExtraCmdline(text: string): this {
    this.config.extraCmdline = text;
    return this;
  }
  /** Ask for this host port first (tests use it to check the retry on a taken port). */
  withSshPort(port: number): this {
    this.config.sshPort = port;
    return this;
  }
  /** How the SSH port of a retry is picked, after the first is taken (default: a free one). */
  withPortPicker(pick: () => Promise<number>): this {
    this.config.pickPort = pick;
    return this;
  }
  withLog(log: (line: string) => void): this {
    this.config.log = log;
    return this;
  }
  withSignal(signal: AbortSignal | undefined): this {
    this.config.signal = signal;
    return this;
  }

  /** Where remembered accelerator verdicts are kept (default: the user's state folder; tests use their own). */
  withVerdicts(verdicts: AccelVerdicts): this {
    this.config.verdicts = verdicts;
    return this;
  }

  /** The exact command the next boot would run first (`--show-command`), without booting (see showCommand). */
  async showCommand(): Promise<PlannedCommand[]> {
    return showCommand(this.config);
  }

  async boot(): Promise<StartedVm> {
    return bootVm(this.config);
  }
}
