import { CappedRecords, CappedText, PROBE_FIELD_LIMIT, STDERR_LIMIT } from '../../util/capped-output.ts';
import { readManifest } from '../../image/cache.ts';
import { findQemu, qemuVersionLine } from '../../vm/qemu-binary.ts';
import type { Arch } from '../../image/arch.ts';
import { osName, type GuestNetwork } from '../../vocabulary.ts';
import { buildImage, type BuilderChoice } from '../../image/build.ts';
import { shellJoin } from '../../util/shell-quote.ts';
import type { AccelChoice } from '../../vm/accel.ts';
import { runtimeDir } from '../../vm/runtime-dir.ts';
import { guestNetworkOf, readState, vmDirs } from '../../vm/state.ts';
import { controlChannelOf } from '../../vm/control-channel.ts';
import { StartedVm, VmBuilder } from '../../vm/vm.ts';
import { hostKernel, hostModel, hostUname } from '../host-facts.ts';
import type { ProbeRun, Skip, Target, TargetInfo } from '../types.ts';
import { hostPlatform } from '../../platform/index.ts';

export interface VmTargetOptions {
  config: string;
  cacheRoot: string;
  arch: Arch;
  builder: BuilderChoice;
  imageDir?: string;
  qemu?: string;
  accel: AccelChoice;
  /** Leave the VM running afterwards, and reuse one that was kept. */
  keep: boolean;
  /** false: boot cold, save no snapshot (--no-snapshot). */
  snapshots?: boolean;
  /** What the guest's network reaches (default isolated; --guest-network: open). */
  guestNetwork?: GuestNetwork;
  bootTimeoutMs?: number;
  log?: (line: string) => void;
  /** A transient status line (the image build's download progress), for a terminal. */
  status?: (text: string) => void;
}

/**
 * The image (built or from the cache) and a VmBuilder configured from the options: the one way from options
 * to a VM, for this target and for nslab vm up.
 */
export async function configuredVmBuilder(o: VmTargetOptions): Promise<VmBuilder> {
  const image = await buildImage({
    config: o.config,
    arch: o.arch,
    builder: o.builder,
    cacheRoot: o.cacheRoot,
    imageDir: o.imageDir,
    log: o.log,
    status: o.status,
  });
  return new VmBuilder(image)
    .withQemu(o.qemu)
    .withAccel(o.accel)
    .withKeep(o.keep)
    .withBootTimeout(o.bootTimeoutMs)
    .withSnapshots(o.snapshots ?? true)
    .withGuestNetwork(askedNetwork(o))
    .withLog(o.log ?? (() => {}));
}

/** The QEMU binary this host would boot with, and its version line, for the report; undefined if not found. */
async function qemuFacts(
  arch: Arch,
  override?: string,
): Promise<{ path: string; version: string } | undefined> {
  try {
    const path = await findQemu(arch, hostPlatform, override);
    return { path, version: await qemuVersionLine(path) };
  } catch {
    return undefined;
  }
}

/** The booted image's manifest facts, for the report; undefined if its manifest cannot be read. */
async function imageFacts(
  dir: string,
): Promise<{ digest: string; builder: string; kernelVersion?: string } | undefined> {
  try {
    const m = await readManifest(dir);
    return {
      digest: m.digest,
      builder: m.builder,
      ...(m.kernelVersion ? { kernelVersion: m.kernelVersion } : {}),
    };
  } catch {
    return undefined;
  }
}

/** The guest network a run asks for: isolated unless it says --guest-network. */
export const askedNetwork = (o: { guestNetwork?: GuestNetwork }): GuestNetwork =>
  o.guestNetwork ?? 'isolated';

/** A kept VM of this architecture that is still running (nslab vm up, or scenario --keep). */
export async function findKeptVm(arch?: Arch): Promise<StartedVm | undefined> {
  for (const dir of await vmDirs(runtimeDir())) {
    const state = await readState(dir);
    if (!state?.keep || (arch && state.arch !== arch)) continue;
    const vm = await StartedVm.attach(dir);
    if (vm) return vm;
  }
  return undefined;
}

/**
 * The probe inside a QEMU VM booted from linuxkit.yml's image. Three layers: the real host (which runs QEMU
 * as one process), the VM's Linux kernel, and the isolated process inside the VM.
 */
export class VmTarget implements Target {
  readonly kind = 'vm' as const;
  private readonly options: VmTargetOptions;
  private vm: StartedVm | undefined;
  private reused = false;

  constructor(options: VmTargetOptions) {
    this.options = options;
  }

  async prepare(signal?: AbortSignal): Promise<{ info: TargetInfo; skip?: Skip }> {
    const o = this.options;
    // The host's facts are asked while the guest boots: under TCG the two would otherwise add up.
    const hostFacts = Promise.all([hostModel(), hostUname()]);
    hostFacts.catch(() => {}); // awaited below; a failed boot must not leave it unhandled
    this.vm = await findKeptVm(o.arch);
    const wanted = askedNetwork(o);
    if (this.vm && guestNetworkOf(this.vm.state) !== wanted) {
      // Never run scenarios in a guest more open than asked for (nor less: one that needs egress fails).
      o.log?.(
        `vm: not reusing the kept VM ${this.vm.state.name}: its guest network is ${guestNetworkOf(this.vm.state)}, this run's is ${wanted}; booting one`,
      );
      this.vm.detach();
      this.vm = undefined;
    }
    this.reused = this.vm !== undefined;
    if (this.vm)
      o.log?.(`vm: reusing the kept VM ${this.vm.state.name} (ssh on 127.0.0.1:${this.vm.sshPort})`);
    else {
      this.vm = await (await configuredVmBuilder(o)).withSignal(signal).boot();
    }
    const s = this.vm.state;
    // The boot's facts come with its state; a kept VM of an older nslab has them looked up here.
    const [[model, hostUnameText], qemu, image] = await Promise.all([
      hostFacts,
      s.qemuBinary ?? qemuFacts(o.arch, o.qemu),
      s.image ?? imageFacts(s.imageDir),
    ]);
    return {
      info: {
        kind: 'vm',
        uname: s.guestUname,
        os: 'linux',
        column: `VM on ${osName(process.platform)}${s.accel ? ` (${s.accel})` : ''}`,
        observer: 'vm',
        access: 'root',
        host: {
          uname: hostUnameText,
          os: process.platform,
          kernel: hostKernel(),
          ...(model ? { model } : {}),
          qemuPid: s.pid,
          accelerator: s.accel,
          acceleratorReason: s.accelReason,
          ...(s.accelFailed
            ? { acceleratorFailed: { accelerator: s.accelFailed.accel, message: s.accelFailed.message } }
            : {}),
          ...(this.reused ? { reusedVm: true } : {}),
          guestNetwork: guestNetworkOf(s),
          controlChannel: controlChannelOf(s.qmp),
          ...(s.boot ? { boot: s.boot } : {}),
          ...(qemu ? { qemu } : {}),
          ...(image ? { image } : {}),
        },
        phases: { ...s.phases },
      },
    };
  }

  /** The QEMU command lines a boot would run, in order (--show-command); nothing is booted. */
  async showCommand(): Promise<{ accel: string; argv: string[]; comment?: string }[]> {
    return (await configuredVmBuilder(this.options)).showCommand();
  }

  async runProbe(script: string, args: readonly string[], signal?: AbortSignal): Promise<ProbeRun> {
    if (!this.vm) throw new Error('the vm target was not prepared');
    const r = await this.vm.exec(`sh -s -- ${shellJoin(args)}`, {
      input: script,
      signal,
      capped: () => ({ stdout: new CappedRecords(PROBE_FIELD_LIMIT), stderr: new CappedText(STDERR_LIMIT) }),
    });
    return {
      stdout: r.stdout,
      stderr: r.stderr,
      exitCode: r.code ?? (r.signal ? 128 : 1),
      durationMs: r.durationMs,
    };
  }

  async close(): Promise<void> {
    if (!this.vm) return;
    if (this.options.keep || this.reused) {
      this.vm.detach();
      this.options.log?.(
        `vm: left running: ${this.vm.state.name} (nslab vm ssh to log in, nslab vm down to stop it)`,
      );
      return;
    }
    await this.vm.stop();
  }
}
