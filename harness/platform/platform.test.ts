import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { PLATFORMS, hostPlatform, platformFor } from './index.ts';

const linux = platformFor('linux');
const darwin = platformFor('darwin');
const win32 = platformFor('win32');

/** PowerShell's reading of `& word word ...`: a '...' word is literal, '' inside it is one quote. */
function powershellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/'((?:[^']|'')*)'|(\S+)/g))
    words.push(m[1] !== undefined ? m[1].replaceAll("''", "'") : m[2]!);
  return words;
}

describe('platformFor', () => {
  it('is this machine for the host, and Linux rules for other Unixes', () => {
    expect(hostPlatform.os).toBe(process.platform);
    expect(platformFor('freebsd')).toBe(linux);
    expect(Object.keys(PLATFORMS)).toEqual(['linux', 'darwin', 'win32']);
  });

  it('each OS has its own accelerator and control channel', () => {
    expect([linux, darwin, win32].map((p) => [p.accelerator, p.control])).toEqual([
      ['kvm', 'unix-socket'],
      ['hvf', 'unix-socket'],
      ['whpx', 'tcp'],
    ]);
  });
});

describe('where QEMU is looked for', () => {
  it('Linux: PATH only', () => {
    expect(linux.qemuSearchDirs({ PATH: '/usr/local/bin:/usr/bin' })).toEqual(['/usr/local/bin', '/usr/bin']);
    expect(linux.exe('qemu-system-x86_64')).toBe('qemu-system-x86_64');
  });
  it('macOS: PATH, then Homebrew (Apple Silicon, Intel) and MacPorts', () => {
    expect(darwin.qemuSearchDirs({ PATH: '/usr/bin' })).toEqual([
      '/usr/bin',
      '/opt/homebrew/bin',
      '/usr/local/bin',
      '/opt/local/bin',
    ]);
  });
  it("Windows: Path split on ';', then Program Files\\qemu joined with '\\', whatever this machine is", () => {
    expect(
      win32.qemuSearchDirs({
        Path: 'C:\\bin;D:\\tools\\qemu',
        ProgramFiles: 'C:\\Program Files',
        'ProgramFiles(x86)': 'C:\\Program Files (x86)',
      }),
    ).toEqual(['C:\\bin', 'D:\\tools\\qemu', 'C:\\Program Files\\qemu', 'C:\\Program Files (x86)\\qemu']);
    expect(win32.qemuSearchDirs({})).toEqual(['C:\\Program Files\\qemu']);
    expect(win32.exe('qemu-system-aarch64')).toBe('qemu-system-aarch64.exe');
    expect(win32.path.join('C:\\Program Files\\qemu', win32.exe('qemu-system-x86_64'))).toBe(
      'C:\\Program Files\\qemu\\qemu-system-x86_64.exe',
    );
  });
});

describe('installing QEMU: the package manager of each host', () => {
  it('apt with the guest-specific package, Homebrew, winget one id per call', () => {
    expect(linux.packageManager.install([linux.qemuPackage('aarch64')])).toEqual([
      ['apt-get', 'install', '-y', '--no-install-recommends', 'qemu-system-arm'],
    ]);
    expect(linux.qemuPackage('x86_64')).toBe('qemu-system-x86');
    expect(darwin.packageManager.install(['qemu'])).toEqual([['brew', 'install', 'qemu']]);
    const winget = win32.packageManager.install(['SoftwareFreedomConservancy.QEMU', 'Other.Tool']);
    expect(winget).toHaveLength(2);
    expect(winget[0]!.slice(0, 4)).toEqual(['winget', 'install', '--id', 'SoftwareFreedomConservancy.QEMU']);
    expect(winget[0]).toContain('--exact');
  });
});

describe('stopping a QEMU and finding a leftover one', () => {
  const words = (p: typeof linux, clean: boolean) =>
    p.stopPlan(clean).map((s) => (s.do === 'qmp' ? s.command : s.do === 'signal' ? s.signal : s.do));

  it('Linux and macOS: QMP, then SIGTERM, then SIGKILL; a clean stop powers the guest off first', () => {
    expect(words(linux, false)).toEqual(['quit', 'SIGTERM', 'SIGKILL']);
    expect(words(darwin, true)).toEqual(['system_powerdown', 'SIGTERM', 'SIGKILL']);
    expect(linux.treeKillArgv(42)).toBeUndefined();
  });
  it('Windows: QMP, then the whole process tree (taskkill /T /F), then TerminateProcess', () => {
    expect(words(win32, false)).toEqual(['quit', 'tree-kill', 'SIGKILL']);
    expect(win32.treeKillArgv(4242)).toEqual(['taskkill.exe', '/PID', '4242', '/T', '/F']);
  });
  it('every step has a bound', () => {
    for (const p of [linux, darwin, win32])
      for (const clean of [false, true])
        for (const s of p.stopPlan(clean)) expect(s.waitMs).toBeGreaterThan(0);
  });
  it('reads a command line from /proc, ps or CIM', () => {
    expect(linux.commandLineSource(42)).toEqual({ file: '/proc/42/cmdline' });
    expect(darwin.commandLineSource(42)).toEqual({ argv: ['ps', '-p', '42', '-o', 'command='] });
    const cim = win32.commandLineSource(42);
    expect('argv' in cim && cim.argv[0]).toBe('powershell.exe');
    expect(JSON.stringify(cim)).toContain('ProcessId=42');
  });
  it('the interrupt signals: SIGTERM (CI cancellation) on POSIX, Ctrl-Break on Windows', () => {
    expect(linux.interruptSignals).toEqual(['SIGINT', 'SIGTERM', 'SIGHUP']);
    expect(darwin.interruptSignals).toContain('SIGTERM');
    expect(win32.interruptSignals).toEqual(['SIGINT', 'SIGBREAK', 'SIGHUP']);
  });
});

describe('the user folders of each host', () => {
  it('Linux: $XDG_STATE_HOME / $XDG_CACHE_HOME, else ~/.local/state and ~/.cache; a relative value is ignored', () => {
    expect(linux.stateDir({ XDG_STATE_HOME: '/x/state' }, '/home/u')).toBe('/x/state/nslab');
    expect(linux.stateDir({}, '/home/u')).toBe('/home/u/.local/state/nslab');
    expect(linux.stateDir({ XDG_STATE_HOME: 'rel' }, '/home/u')).toBe('/home/u/.local/state/nslab');
    expect(linux.cacheDir({ XDG_CACHE_HOME: '/c' }, '/home/u')).toBe('/c/nslab');
    expect(linux.cacheDir({ XDG_CACHE_HOME: 'c' }, '/home/u')).toBe('/home/u/.cache/nslab');
  });
  it('macOS: ~/Library, whatever XDG says', () => {
    expect(darwin.stateDir({ XDG_STATE_HOME: '/x' }, '/Users/u')).toBe(
      '/Users/u/Library/Application Support/nslab',
    );
    expect(darwin.cacheDir({ XDG_CACHE_HOME: '/x' }, '/Users/u')).toBe('/Users/u/Library/Caches/nslab');
  });
  it('Windows: %LOCALAPPDATA%, with Windows separators', () => {
    const env = { LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' };
    expect(win32.stateDir(env, 'C:\\Users\\u')).toBe('C:\\Users\\u\\AppData\\Local\\nslab');
    expect(win32.stateDir({}, 'C:\\Users\\u')).toBe('C:\\Users\\u\\AppData\\Local\\nslab');
    expect(win32.cacheDir(env, 'C:\\Users\\u')).toBe('C:\\Users\\u\\AppData\\Local\\nslab\\cache');
  });
});

describe("quoting a command line for the host's shell", () => {
  const argv = ['C:\\Program Files\\qemu\\qemu-system-x86_64.exe', '-append', "console=ttyS0 it's $HOME `x`"];

  it('Windows: PowerShell reads back the same words, a path with a space included', () => {
    const line = win32.quote(argv);
    expect(line.startsWith("& 'C:\\Program Files\\qemu\\qemu-system-x86_64.exe' ")).toBe(true);
    expect(powershellWords(line)).toEqual(['&', ...argv]);
  });
  it('Linux and macOS: sh reads back the same words', async () => {
    for (const p of [linux, darwin]) {
      const { stdout } = await execa('sh', ['-c', `set -- ${p.quote(argv)}; printf '%s\\0' "$@"`]);
      expect(stdout.split('\0').slice(0, -1)).toEqual(argv);
    }
  });
});
