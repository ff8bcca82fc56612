import { existsSync } from 'node:fs';
import { posix, win32 } from 'node:path';
import { execa } from 'execa';
import { EnvironmentError, UsageError } from '../errors.ts';
import type { Arch } from '../image/arch.ts';
import { findOnPath } from '../util/find-on-path.ts';

export const qemuBinaryName = (guest: Arch, platform: NodeJS.Platform) =>
  `qemu-system-${guest}${platform === 'win32' ? '.exe' : ''}`;

/** Path rules of the host, not of this machine: Windows paths are split and joined the Windows way. */
const pathOf = (platform: NodeJS.Platform) => (platform === 'win32' ? win32 : posix);

/** Where QEMU usually lives beyond PATH: Homebrew (Apple Silicon, Intel), MacPorts, the Windows installer. */
export function qemuSearchDirs(platform: NodeJS.Platform, env: NodeJS.ProcessEnv = process.env): string[] {
  const { delimiter, join } = pathOf(platform);
  const path = (env.PATH ?? env.Path ?? '').split(delimiter).filter(Boolean);
  if (platform === 'darwin') return [...path, '/opt/homebrew/bin', '/usr/local/bin', '/opt/local/bin'];
  if (platform === 'win32') {
    const pf = [env.ProgramFiles, env['ProgramFiles(x86)'], 'C:\\Program Files'].filter(Boolean) as string[];
    return [...new Set([...path, ...pf.map((p) => join(p, 'qemu'))])];
  }
  return path;
}

/** How to install QEMU for this guest on this host OS. */
export function qemuInstallHint(guest: Arch, platform: NodeJS.Platform): string {
  return platform === 'darwin'
    ? 'brew install qemu'
    : platform === 'win32'
      ? 'winget install SoftwareFreedomConservancy.QEMU'
      : `apt-get install ${guest === 'x86_64' ? 'qemu-system-x86' : 'qemu-system-arm'} (npm run setup does)`;
}

export async function findQemu(guest: Arch, platform: NodeJS.Platform, override?: string): Promise<string> {
  if (override) {
    if (!existsSync(override)) throw new UsageError(`--qemu ${override}: no such file`);
    return override;
  }
  const name = qemuBinaryName(guest, platform);
  const found = findOnPath(name, qemuSearchDirs(platform), platform);
  if (found) return found;
  throw new EnvironmentError(
    `${name} not found on PATH or in the usual install folders`,
    `install QEMU: ${qemuInstallHint(guest, platform)}, or pass --qemu PATH`,
  );
}

export function parseQemuVersion(text: string): [number, number, number] | undefined {
  const m = /version (\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** QEMU's `--version` line (e.g. "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18)"), or ''. */
export async function qemuVersionLine(qemu: string): Promise<string> {
  const r = await execa(qemu, ['--version'], { reject: false, timeout: 10_000 });
  return r.stdout.split('\n')[0]?.trim() ?? '';
}

export async function qemuVersion(qemu: string): Promise<[number, number, number] | undefined> {
  return parseQemuVersion(await qemuVersionLine(qemu));
}

/** QEMU before 8.2.1 cannot run aarch64 guests under HVF on recent macOS (Apple Silicon). Pure. */
export function checkQemuVersion(
  version: [number, number, number] | undefined,
  platform: NodeJS.Platform,
  hostArch: Arch,
): string | undefined {
  if (platform !== 'darwin' || hostArch !== 'aarch64' || !version) return undefined;
  const [a, b, c] = version;
  const ok = a > 8 || (a === 8 && (b > 2 || (b === 2 && c >= 1)));
  return ok
    ? undefined
    : `QEMU ${version.join('.')} is too old for Apple Silicon: 8.2.1 or newer is needed (brew upgrade qemu)`;
}
