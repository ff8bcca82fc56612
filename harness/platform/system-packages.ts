import type { Arch } from '../vocabulary.ts';
import type { Platform } from './types.ts';

/** A system package and why nslab needs it (the line `npm run setup` prints). */
export interface SystemPackage {
  name: string;
  why: string;
  /** Commands that, found on PATH, meet the need as well (Docker CE's dockerd or runc, a snap's chromium). */
  orCommand?: string[];
  /** With orCommand: the arguments a found command must answer with exit 0 to count (`runc --version`). */
  orCommandAnswers?: string[];
}

/**
 * The system packages nslab needs on this host, in one place: `npm run setup` installs `runtime`, and
 * `.ci/run` (through `setup --test`) also `test`. Package names are the host's package manager's own.
 */
export function systemPackages(
  platform: Platform,
  hostArch: Arch,
): { runtime: SystemPackage[]; test: SystemPackage[] } {
  if (platform.os === 'darwin')
    return { runtime: [{ name: 'qemu', why: 'the vm target boots the image with QEMU (HVF)' }], test: [] };
  if (platform.os === 'win32')
    return {
      runtime: [
        { name: 'SoftwareFreedomConservancy.QEMU', why: 'the vm target boots the image with QEMU (WHPX)' },
      ],
      test: [],
    };
  return {
    runtime: [
      { name: 'util-linux', why: 'unshare and nsenter for the native target' },
      { name: 'procps', why: 'ps inside and outside the namespace' },
      { name: 'iproute2', why: 'ip, for the net-ns scenario' },
      { name: 'busybox-static', why: "the static program of chroot-static, and the one file of runc's root" },
      {
        name: 'runc',
        why: '--runtime runc (for --runtime docker, a Docker daemon is yours to install)',
        // Where Docker comes from Docker's own packages (GitHub's Ubuntu runners), containerd.io ships a runc
        // and conflicts with this package (moby/moby#38185): installing it would remove Docker, or fail.
        orCommand: ['runc'],
        orCommandAnswers: ['--version'],
      },
      { name: platform.qemuPackage(hostArch), why: 'the vm target boots the image with QEMU' },
      { name: 'ca-certificates', why: 'the debian image builder fetches packages from the Debian mirror' },
    ],
    test: [
      {
        name: 'qemu-system-x86',
        why: 'the tests boot both guest architectures (aarch64: the Apple Silicon path)',
      },
      { name: 'qemu-system-arm', why: 'the tests boot both guest architectures' },
      { name: 'dropbear-bin', why: "dropbearkey checks the host keys nslab writes in dropbear's format" },
      { name: 'openssh-client', why: 'ssh-keygen checks the OpenSSH-format keys' },
      { name: 'cpio', why: 'reads back the initramfs archives nslab writes' },
      {
        name: 'docker.io',
        why: "--runtime docker's tests; .ci/run starts its dockerd",
        // The daemon, not the client: a machine may have a docker client alone (these machines do).
        orCommand: ['dockerd'],
      },
      {
        name: 'chromium',
        why: 'report.html is checked in a real headless browser (playwright-core)',
        orCommand: ['chromium', 'chromium-browser'],
      },
      { name: 'shellcheck', why: "the CI workflow's bash steps are checked with it" },
    ],
  };
}

/** What `npm run setup` will do: the commands to run, or why it cannot and what to type instead. */
export type SetupPlan =
  { commands: string[][]; missing: string[] } | { error: string; hint: string; missing: string[] };

/**
 * From the wanted packages and those found missing, the install commands for this host's package manager.
 * apt needs root: as another user it goes through `sudo -n` when sudo can run without a password, else the
 * plan is an error that lists the packages and the command for an administrator. Pure.
 */
export function setupPlan(input: {
  platform: Platform;
  missing: string[];
  root: boolean;
  sudo: boolean;
}): SetupPlan {
  const { platform, missing } = input;
  if (missing.length === 0) return { commands: [], missing };
  const install = platform.packageManager.install(missing);
  if (platform.packageManager.name !== 'apt') return { commands: install, missing };
  const update = ['apt-get', 'update', '-q'];
  if (input.root) return { commands: [update, ...install], missing };
  if (input.sudo) return { commands: [update, ...install].map((c) => ['sudo', '-n', ...c]), missing };
  return {
    error: `missing system packages: ${missing.join(', ')}; installing them needs root, and sudo -n is not available`,
    hint: `run as root: ${platform.quote(install[0]!)}`,
    missing,
  };
}
