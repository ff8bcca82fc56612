import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { qemuArgv } from '../vm/qemu-argv.ts';
import { formatShowCommand } from '../targets/index.ts';
import { platformFor } from '../platform/index.ts';

// --show-command prints what a user pastes into their shell, so each host's quoting is checked by reading the
// line back: POSIX sh for real, PowerShell by its rule for single-quoted strings (no PowerShell here).
const WIN_DIR = "C:\\Users\\Jo O'Neil\\AppData\\Local\\nslab\\vm-1 $HOME";
const winArgv = [
  'C:\\Program Files\\qemu\\qemu-system-x86_64.exe',
  ...qemuArgv({
    platform: 'win32',
    guestArch: 'x86_64',
    accel: 'whpx',
    kernel: 'C:\\Program Files\\nslab\\vm-images\\abc\\nslab-kernel',
    initrd: `${WIN_DIR}\\initrd.img`,
    cmdline: 'console=ttyS0 panic=-1',
    sshPort: 40022,
    consoleLog: `${WIN_DIR}\\console.log`,
    qmp: { port: 40023 },
    pidfile: `${WIN_DIR}\\qemu.pid`,
    name: 'nslab-1',
  }),
];

/** PowerShell's reading of `& word word ...`: a '...' word is literal, '' inside it is one quote. */
function powershellWords(line: string): string[] {
  const words: string[] = [];
  const re = /'((?:[^']|'')*)'|(\S+)/g;
  for (const m of line.matchAll(re)) words.push(m[1] !== undefined ? m[1].replaceAll("''", "'") : m[2]!);
  return words;
}

describe('--show-command quoting, per host', () => {
  it('Windows: a PowerShell line whose words are the argv, paths with spaces, quotes and $ intact', () => {
    const line = formatShowCommand([{ accel: 'whpx', argv: winArgv }], platformFor('win32')).trimEnd();
    expect(line.startsWith("& 'C:\\Program Files\\qemu\\qemu-system-x86_64.exe' ")).toBe(true);
    expect(powershellWords(line)).toEqual(['&', ...winArgv]);
    // Unquoted, the program path would be two words and the guest's paths would be cut at their spaces.
    expect(line).toContain(`'${WIN_DIR.replaceAll("'", "''")}\\initrd.img'`);
  });

  it('Linux and macOS: a POSIX line that sh reads back into the same argv', async () => {
    const argv = ['/opt/homebrew/bin/qemu-system-aarch64', ...winArgv.slice(1)];
    const line = formatShowCommand([{ accel: 'tcg', argv }], platformFor('darwin')).trimEnd();
    const { stdout } = await execa('sh', ['-c', `set -- ${line}; printf '%s\\0' "$@"`]);
    expect(stdout.split('\0').slice(0, -1)).toEqual(argv);
  });

  it('a planned fallback comes after a comment that says when it runs', () => {
    const text = formatShowCommand(
      [
        { accel: 'whpx', argv: winArgv },
        { accel: 'tcg', argv: winArgv },
      ],
      platformFor('win32'),
    );
    expect(text.split('\n')[1]).toBe(
      '# if whpx does not run the guest, nslab boots again under tcg (with a new id):',
    );
  });
});
