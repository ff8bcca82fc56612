import { stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { EnvironmentError, UsageError } from '../errors.ts';
import type { Arch } from '../image/arch.ts';
import type { Platform } from '../platform/index.ts';
import { findOnPath } from '../util/find-on-path.ts';

export const qemuBinaryName = (guest: Arch, platform: Platform) => platform.exe(`qemu-system-${guest}`);

/** How to install QEMU for this guest on this host OS, as commands to type. */
export function qemuInstallHint(guest: Arch, platform: Platform): string {
  const commands = platform.packageManager.install([platform.qemuPackage(guest)]);
  const typed = commands.map((argv) => platform.quote(argv).replace(/^& /, '')).join('; ');
  return platform.os === 'linux' ? `${typed} (npm run setup does)` : typed;
}

export async function findQemu(guest: Arch, platform: Platform, override?: string): Promise<string> {
  if (override) {
    await checkQemuBinary(override);
    return override;
  }
  const name = qemuBinaryName(guest, platform);
  const found = findOnPath(name, platform.qemuSearchDirs(process.env), platform);
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
  // Asked for by the verdict, the snapshot key and the report of one run: one process per binary and
  // file version (a replaced binary has another mtime or size).
  const st = await stat(qemu).catch(() => undefined);
  const id = `${qemu}\0${st?.mtimeMs}\0${st?.size}`;
  let line = versionLines.get(id);
  if (!line) {
    line = execa(qemu, ['--version'], { reject: false, timeout: 10_000 }).then(
      (r) => r.stdout.split('\n')[0]?.trim() ?? '',
    );
    versionLines.set(id, line);
  }
  return line;
}
const versionLines = new Map<string, Promise<string>>();

export async function qemuVersion(qemu: string): Promise<[number, number, number] | undefined> {
  return parseQemuVersion(await qemuVersionLine(qemu));
}

/** QEMU before 8.2.1 cannot run aarch64 guests under HVF on recent macOS (Apple Silicon). Pure. */
export function checkQemuVersion(
  version: [number, number, number] | undefined,
  platform: Platform,
  hostArch: Arch,
): string | undefined {
  if (!version) return undefined;
  const [a, b, c] = version;
  // Windows: QMP is served over TLS there (see ChannelAddress); QEMU 7.2 sends the greeting over TLS and
  // then answers no command (measured here: 7.2 stalls, 10.0 answers); 8.2 is the floor snapshots need too.
  if (platform.os === 'win32')
    return a > 8 || (a === 8 && b >= 2)
      ? undefined
      : `QEMU ${version.join('.')} is too old for nslab on Windows: 8.2 or newer is needed, for QMP over TLS (winget upgrade SoftwareFreedomConservancy.QEMU)`;
  if (platform.os !== 'darwin' || hostArch !== 'aarch64') return undefined;
  const ok = a > 8 || (a === 8 && (b > 2 || (b === 2 && c >= 1)));
  return ok
    ? undefined
    : `QEMU ${version.join('.')} is too old for Apple Silicon: 8.2.1 or newer is needed (brew upgrade qemu)`;
}

/**
 * --qemu must name a QEMU: the file exists and its `--version` says "QEMU emulator version". Anything
 * else is a usage error that quotes the value and what it answered, before anything is booted.
 */
export async function checkQemuBinary(path: string): Promise<void> {
  if (!existsSync(path))
    throw new UsageError(`--qemu ${path}: no such file`, 'pass the path of a qemu-system-* binary');
  const line = await qemuVersionLine(path).catch(() => '');
  if (!parseQemuVersion(line))
    throw new UsageError(
      `--qemu ${path}: not a QEMU binary (its --version said ${JSON.stringify(line.slice(0, 80) || '(nothing)')})`,
      'pass the path of a qemu-system-* binary, or leave --qemu out to find one on PATH',
    );
}
