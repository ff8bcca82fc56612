import { Command, Option } from 'commander';
import { statusLine } from '../../util/status-line.ts';
import { BUILDERS, hostArch, parseArch, type BuilderChoice } from '../../image/index.ts';
import { VmTarget, type VmTargetOptions } from './target.ts';
import { UsageError } from '../../errors.ts';
import { hostPlatform, type Platform } from '../../platform/index.ts';
import { ACCELS, type AccelChoice } from '../../vm/accel.ts';
import { DEFAULT_IMAGE_CACHE, DEFAULT_LINUXKIT_YML } from '../../paths.ts';

/** The options that say how to get and boot the VM, shared by `scenario` and `vm up`. */
export interface VmCliOptions {
  arch: string;
  accel: AccelChoice;
  qemu?: string;
  builder: BuilderChoice;
  image?: string;
  config: string;
  cache: string;
  bootTimeout?: string;
  showCommand?: boolean;
  /** Commander's reading of --no-snapshot. */
  snapshot: boolean;
  guestNetwork?: boolean;
}

export function addVmOptions(cmd: Command): Command {
  return cmd
    .option('--arch <arch>', 'vm: guest architecture, x86_64 or aarch64', hostArch())
    .addOption(
      new Option(
        '--accel <accel>',
        'vm: accelerator; auto tries KVM, HVF or WHPX where usable and falls back to TCG if the guest does not run there (remembered per host; nslab doctor shows it)',
      )
        .choices(ACCELS)
        .default('auto'),
    )
    .option(
      '--qemu <path>',
      'vm: the qemu-system binary to use (default: found on PATH and the usual install folders)',
    )
    .addOption(
      new Option(
        '--builder <builder>',
        "vm: how to build the image: debian (Debian's packages, fetched and verified by nslab; what auto means) or linuxkit (the linuxkit CLI)",
      )
        .choices(BUILDERS)
        .default('auto'),
    )
    .option('--image <dir>', 'vm: boot this kernel + initrd + cmdline instead of building linuxkit.yml')
    .option('--config <file>', 'vm: the LinuxKit configuration', DEFAULT_LINUXKIT_YML)
    .option('--cache <dir>', 'vm: the image cache', DEFAULT_IMAGE_CACHE)
    .option(
      '--boot-timeout <seconds>',
      'vm: how long a boot may take (default 120 under TCG, 30 with an accelerator)',
    )
    .option(
      '--no-snapshot',
      'vm: boot cold and save nothing; by default a booted guest is saved next to the image once and later runs restore it (seconds faster under TCG: npm run bench:boot measures it)',
    )
    .option(
      '--guest-network',
      "vm: let the guest reach the host's loopback services and beyond through QEMU's user network; by default it reaches nothing but its own SSH forward",
    )
    .option('--show-command', 'vm: print the QEMU command line a boot would run, and exit without booting');
}

/**
 * --show-command: the QEMU command lines, ready to paste into the host's shell (POSIX quoting, or PowerShell's
 * on Windows); a fallback is introduced by a comment. Pure.
 */
export function formatShowCommand(
  commands: { accel: string; argv: string[]; comment?: string }[],
  platform: Platform = hostPlatform,
): string {
  return commands
    .map((c, i) =>
      c.comment
        ? `# ${c.comment}\n${platform.quote(c.argv)}`
        : i === 0
          ? platform.quote(c.argv)
          : `# if ${commands[i - 1]!.accel} does not run the guest, nslab boots again under ${c.accel} (with a new id):\n${platform.quote(c.argv)}`,
    )
    .join('\n')
    .concat('\n');
}

export function bootTimeoutMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`--boot-timeout ${JSON.stringify(value)} is not a positive number of seconds`);
  return n * 1000;
}

/** The VM options on the command line, as a VM target (and nslab vm up) takes them. */
export function vmTargetOptions(o: VmCliOptions & { keep: boolean }): VmTargetOptions {
  return {
    config: o.config,
    cacheRoot: o.cache,
    arch: parseArch(o.arch),
    builder: o.builder,
    imageDir: o.image,
    qemu: o.qemu,
    accel: o.accel,
    keep: o.keep,
    bootTimeoutMs: bootTimeoutMs(o.bootTimeout),
    snapshots: o.snapshot,
    guestNetwork: o.guestNetwork ? 'open' : 'isolated',
    log: (l) => process.stderr.write(`nslab: ${l}\n`),
    status: statusLine(),
  };
}

export function createVmTarget(o: VmCliOptions & { keep: boolean }): VmTarget {
  return new VmTarget(vmTargetOptions(o));
}
