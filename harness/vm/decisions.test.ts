import { describe, expect, it } from 'vitest';
import { chooseAccelerator, parseEntitlements, cpuModel, type AccelProbes } from './accel.ts';
import { qemuArgv } from './qemu-argv.ts';
import { snapshotArgv } from './snapshot-key.ts';
import { takenPort } from './port.ts';
import { whpxProbeArgv } from './probe-accel.ts';
import { checkQemuVersion, parseQemuVersion, qemuBinaryName, qemuInstallHint } from './qemu-binary.ts';
import { looksLikeOurQemu } from './cleanup.ts';
import { platformFor, type HostOs } from '../platform/index.ts';
import { combinationName, PLATFORMS, possibleCombinations } from '../../test/helpers/accel-matrix.ts';

const NONE: AccelProbes = { kvm: false, hvf: false, whpx: false };
const ALL: AccelProbes = { kvm: true, hvf: true, whpx: true };

describe('chooseAccelerator (pure, every host)', () => {
  it.each([
    ['linux', 'x86_64', 'x86_64', NONE, 'tcg'],
    ['linux', 'x86_64', 'x86_64', { ...NONE, kvm: true }, 'kvm'],
    ['linux', 'x86_64', 'aarch64', ALL, 'tcg'],
    ['darwin', 'aarch64', 'aarch64', { ...NONE, hvf: true }, 'hvf'],
    ['darwin', 'aarch64', 'aarch64', NONE, 'tcg'],
    ['darwin', 'aarch64', 'x86_64', ALL, 'tcg'],
    ['darwin', 'x86_64', 'x86_64', { ...NONE, hvf: true }, 'hvf'],
    ['darwin', 'aarch64', 'aarch64', { ...NONE, hvf: true, hvfEntitlement: 'present' }, 'hvf'],
    ['darwin', 'aarch64', 'aarch64', { ...NONE, hvf: true, hvfEntitlement: 'missing' }, 'tcg'],
    ['win32', 'x86_64', 'x86_64', { ...NONE, whpx: true }, 'whpx'],
    ['win32', 'x86_64', 'x86_64', NONE, 'tcg'],
    ['win32', 'aarch64', 'aarch64', { ...NONE, whpx: true }, 'whpx'],
    ['win32', 'aarch64', 'x86_64', ALL, 'tcg'],
  ] as const)('auto on %s/%s with a %s guest → %s', (platform, hostArch, guestArch, probes, want) => {
    const d = chooseAccelerator({
      platform: platformFor(platform),
      hostArch,
      guestArch,
      requested: 'auto',
      probes,
    });
    expect('accel' in d && d.accel).toBe(want);
    expect('reason' in d && d.reason.length).toBeGreaterThan(10);
  });

  it('macOS: a QEMU without the hypervisor entitlement gets no HVF, and the reason says how to get one', () => {
    const probes = { ...NONE, hvf: true, hvfEntitlement: 'missing' as const };
    const auto = chooseAccelerator({
      platform: platformFor('darwin'),
      hostArch: 'aarch64',
      guestArch: 'aarch64',
      requested: 'auto',
      probes,
    });
    expect(auto).toMatchObject({
      accel: 'tcg',
      reason: expect.stringMatching(/com\.apple\.security\.hypervisor.*brew reinstall qemu/),
    });
    const asked = chooseAccelerator({
      platform: platformFor('darwin'),
      hostArch: 'aarch64',
      guestArch: 'aarch64',
      requested: 'hvf',
      probes,
    });
    expect(asked).toMatchObject({
      error: expect.stringMatching(/^--accel hvf is not usable here: this QEMU lacks/),
    });
  });

  it("reads codesign's answer: the entitlement, signed without it, not signed, or not known", () => {
    const plist = (key: string) =>
      `<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd"><plist version="1.0"><dict><key>${key}</key><true/></dict></plist>`;
    expect(
      parseEntitlements({
        exitCode: 0,
        stdout: plist('com.apple.security.hypervisor'),
        stderr: 'Executable=/opt/homebrew/bin/qemu-system-aarch64',
      }),
    ).toBe('present');
    expect(
      parseEntitlements({ exitCode: 0, stdout: plist('com.apple.security.cs.allow-jit'), stderr: '' }),
    ).toBe('missing');
    expect(
      parseEntitlements({
        exitCode: 1,
        stdout: '',
        stderr: '/usr/local/bin/qemu-system-x86_64: code object is not signed at all',
      }),
    ).toBe('missing');
    expect(
      parseEntitlements({ exitCode: 1, stdout: '', stderr: 'codesign: command not found' }),
    ).toBeUndefined();
  });

  it('an accelerator asked for but not usable is an error that says why', () => {
    const d = chooseAccelerator({
      platform: platformFor('linux'),
      hostArch: 'x86_64',
      guestArch: 'x86_64',
      requested: 'kvm',
      probes: NONE,
    });
    expect(d).toEqual({
      error: expect.stringMatching(/--accel kvm is not usable here: \/dev\/kvm is missing or not read-write/),
    });
    const h = chooseAccelerator({
      platform: platformFor('linux'),
      hostArch: 'x86_64',
      guestArch: 'x86_64',
      requested: 'hvf',
      probes: ALL,
    });
    expect(h).toEqual({ error: expect.stringMatching(/hvf is not an accelerator of linux/) });
    const f = chooseAccelerator({
      platform: platformFor('darwin'),
      hostArch: 'aarch64',
      guestArch: 'x86_64',
      requested: 'hvf',
      probes: ALL,
    });
    expect(f).toEqual({ error: expect.stringMatching(/only tcg emulates another architecture/) });
  });

  it('tcg is always usable when asked for', () => {
    for (const platform of PLATFORMS) {
      expect(
        chooseAccelerator({
          platform: platformFor(platform),
          hostArch: 'x86_64',
          guestArch: 'aarch64',
          requested: 'tcg',
          probes: NONE,
        }),
      ).toMatchObject({ accel: 'tcg' });
    }
  });

  it('-cpu host only with a hardware accelerator', () => {
    expect(cpuModel('kvm', 'x86_64')).toBe('host');
    expect(cpuModel('hvf', 'aarch64')).toBe('host');
    expect(cpuModel('whpx', 'x86_64')).toBe('qemu64');
    // An x86 model would make qemu-system-aarch64 refuse to start; WHPX on Arm documents `-cpu host`.
    expect(cpuModel('whpx', 'aarch64')).toBe('host');
    expect(cpuModel('tcg', 'x86_64')).toBe('qemu64,+rdrand');
    expect(cpuModel('tcg', 'aarch64')).toBe('cortex-a57');
  });

  it("-cpu under HVF takes Lima's choices: cortex-a72 on an M4 with SME, host,-pdpe1gb on an Intel Mac", () => {
    // Apple Silicon before M4 (no SME, or a macOS without the sysctl): the host's CPU.
    expect(cpuModel('hvf', 'aarch64', { arch: 'aarch64', sme: false })).toBe('host');
    expect(cpuModel('hvf', 'aarch64', { arch: 'aarch64' })).toBe('host');
    // M4-class: `host` would expose SME, which QEMU's HVF cannot run (QEMU 2665/2721, lima 3032/3226).
    expect(cpuModel('hvf', 'aarch64', { arch: 'aarch64', sme: true })).toBe('cortex-a72');
    // Intel Macs: QEMU 8.0+ aborts with plain `host` (lima 1485).
    expect(cpuModel('hvf', 'x86_64', { arch: 'x86_64' })).toBe('host,-pdpe1gb');
    // Nothing of this reaches another accelerator: SME is a fact of macOS hosts only.
    expect(cpuModel('kvm', 'aarch64', { arch: 'aarch64', sme: true })).toBe('host');
    expect(cpuModel('tcg', 'aarch64', { arch: 'aarch64', sme: true })).toBe('cortex-a57');
    const argv = qemuArgv({
      platform: 'darwin',
      guestArch: 'aarch64',
      accel: 'hvf',
      hostCpu: { arch: 'aarch64', sme: true },
      kernel: 'k',
      initrd: 'i',
      cmdline: 'c',
      sshPort: 1,
      consoleLog: 'l',
      qmp: { socket: 'q' },
      pidfile: 'p',
      name: 'n',
    });
    expect(argv[argv.indexOf('-cpu') + 1]).toBe('cortex-a72');
  });
});

describe('qemuArgv (pure): every host × guest × accelerator', () => {
  // Only what chooseAccelerator can return: no snapshot of a combination that cannot happen.
  const matrix = possibleCombinations();

  it('the matrix holds exactly the combinations that can happen', () => {
    expect(matrix.map(combinationName).sort()).toEqual(
      [
        'linux x86_64 kvm',
        'linux x86_64 tcg',
        'linux aarch64 kvm',
        'linux aarch64 tcg',
        'darwin x86_64 hvf',
        'darwin x86_64 tcg',
        'darwin aarch64 hvf',
        'darwin aarch64 tcg',
        'win32 x86_64 whpx',
        'win32 x86_64 tcg',
        'win32 aarch64 whpx',
        'win32 aarch64 tcg',
      ].sort(),
    );
  });

  for (const { platform, guestArch, accel } of matrix) {
    it(`${platform} ${guestArch} ${accel}`, () => {
      const argv = qemuArgv({
        platform,
        guestArch,
        accel,
        kernel: '/img/nslab-kernel',
        initrd: '/run/vm-1/initrd.img',
        cmdline: 'console=ttyS0 console=ttyAMA0',
        sshPort: 40022,
        consoleLog: '/run/vm-1/console.log',
        qmp:
          platform === 'win32' ? { port: 40023, pskDir: 'C:\\run\\vm-1' } : { socket: '/run/vm-1/qmp.sock' },
        secrets:
          platform === 'win32'
            ? { port: 40024, pskDir: 'C:\\run\\vm-1' }
            : { socket: '/run/vm-1/secrets.sock' },
        pidfile: '/run/vm-1/qemu.pid',
        name: 'nslab-1',
      });
      expect(argv).toMatchSnapshot();
      // The invariants, stated outright:
      expect(argv.join(' ')).toContain('hostfwd=tcp:127.0.0.1:40022-:22');
      // Isolated by default, on every host: the guest reaches nothing but its SSH forward.
      expect(argv[argv.indexOf('-netdev') + 1]).toBe(
        'user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22',
      );
      expect(argv.join(' ')).not.toMatch(/highmem=off/);
      expect(argv[argv.indexOf('-machine') + 1]).toMatch(
        guestArch === 'x86_64' ? /^q35,accel=/ : /^virt,accel=/,
      );
      expect(argv).toContain(
        platform === 'win32'
          ? 'tcp:127.0.0.1:40023,server=on,wait=off,tls-creds=nslab-tls'
          : 'unix:/run/vm-1/qmp.sock,server=on,wait=off',
      );
      // Windows' TCP channels take only TLS with the boot's key; POSIX sockets need none.
      const tls = argv.filter((a) => a.includes('tls'));
      expect(tls).toEqual(
        platform === 'win32'
          ? [
              'tcp:127.0.0.1:40023,server=on,wait=off,tls-creds=nslab-tls',
              'tls-creds-psk,id=nslab-tls,endpoint=server,dir=C:\\run\\vm-1',
              'socket,id=secrets,host=127.0.0.1,port=40024,server=on,wait=off,tls-creds=nslab-tls',
            ]
          : [],
      );
    });
  }
});

describe("the guest's network", () => {
  it('opens only when asked (--guest-network): the same forward, no restrict, and another snapshot key', () => {
    const input = {
      platform: 'linux' as const,
      guestArch: 'x86_64' as const,
      accel: 'tcg' as const,
      kernel: '/k',
      initrd: '/i',
      cmdline: '',
      sshPort: 40022,
      consoleLog: '/c',
      qmp: { socket: '/q' },
      pidfile: '/p',
      name: 'nslab-1',
    };
    const open = qemuArgv({ ...input, guestNetwork: 'open' });
    expect(open[open.indexOf('-netdev') + 1]).toBe('user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22');
    expect(snapshotArgv(open)).not.toEqual(snapshotArgv(qemuArgv(input)));
    expect(snapshotArgv(qemuArgv({ ...input, guestNetwork: 'isolated' }))).toEqual(
      snapshotArgv(qemuArgv(input)),
    );
  });
});

describe('the WHPX trial (Windows)', () => {
  it('runs the machine type nslab boots, never -M none (QEMU 11.1 aborts on it under WHPX)', () => {
    expect(whpxProbeArgv('x86_64')).toEqual([
      '-accel',
      'whpx',
      '-M',
      'q35',
      '-nodefaults',
      '-display',
      'none',
      '-S',
      '-qmp',
      'stdio',
    ]);
    const arm = whpxProbeArgv('aarch64');
    expect(arm[arm.indexOf('-M') + 1]).toBe('virt');
  });
});

describe('finding QEMU', () => {
  it('the binary and the install hint of each host', () => {
    expect(qemuBinaryName('aarch64', platformFor('win32'))).toBe('qemu-system-aarch64.exe');
    expect(qemuBinaryName('x86_64', platformFor('darwin'))).toBe('qemu-system-x86_64');
    expect(qemuInstallHint('aarch64', platformFor('linux'))).toBe(
      'apt-get install -y --no-install-recommends qemu-system-arm (npm run setup does)',
    );
    expect(qemuInstallHint('x86_64', platformFor('darwin'))).toBe('brew install qemu');
    expect(qemuInstallHint('x86_64', platformFor('win32'))).toBe(
      'winget install --id SoftwareFreedomConservancy.QEMU --exact --silent --accept-package-agreements --accept-source-agreements',
    );
  });
  it('refuses QEMU older than 8.2.1 on Apple Silicon, and nowhere else but Windows', () => {
    expect(parseQemuVersion('QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)')).toEqual([
      7, 2, 19,
    ]);
    expect(checkQemuVersion([8, 2, 0], platformFor('darwin'), 'aarch64')).toMatch(/8\.2\.1 or newer/);
    expect(checkQemuVersion([8, 2, 1], platformFor('darwin'), 'aarch64')).toBeUndefined();
    expect(checkQemuVersion([7, 2, 19], platformFor('linux'), 'x86_64')).toBeUndefined();
  });
  it('refuses QEMU older than 8.2 on Windows, whose QMP goes over TLS (7.2 answers no command there)', () => {
    expect(checkQemuVersion([8, 1, 5], platformFor('win32'), 'x86_64')).toBe(
      'QEMU 8.1.5 is too old for nslab on Windows: 8.2 or newer is needed, for QMP over TLS (winget upgrade SoftwareFreedomConservancy.QEMU)',
    );
    expect(checkQemuVersion([8, 2, 0], platformFor('win32'), 'x86_64')).toBeUndefined();
    expect(checkQemuVersion([11, 0, 0], platformFor('win32'), 'aarch64')).toBeUndefined();
  });
});

describe('a port taken under QEMU, per host', () => {
  it.each([
    ["qemu-system-x86_64: Could not set up host forwarding rule 'tcp:127.0.0.1:40022-:22'", 'ssh'],
    [
      'qemu-system-x86_64.exe: -qmp tcp:127.0.0.1:40023,server=on,wait=off: Failed to bind socket: Only one usage of each socket address (protocol/network address/port) is normally permitted.',
      'qmp',
    ],
    [
      'qemu-system-x86_64: -qmp tcp:127.0.0.1:40023,server=on,wait=off: Failed to bind socket: Address already in use',
      'qmp',
    ],
    [
      'qemu-system-x86_64: -qmp unix:/run/vm-1/qmp.sock,server=on,wait=off: Failed to bind socket to /run/vm-1/qmp.sock: Address already in use',
      undefined,
    ],
    ['qemu-system-x86_64: failed to set MSR 0x10a to 0x69', undefined],
  ] as const)('%s → %s', (stderr, which) => {
    expect(takenPort(stderr)).toBe(which);
  });
});

describe('cleanup decisions, per host', () => {
  it('with a state, also its SSH port and QMP address must be on the command line (linux, darwin, win32)', () => {
    const argvOf = (platform: HostOs, sshPort: number, qmp: { socket: string } | { port: number }) => [
      platform === 'win32' ? 'C:\\qemu\\qemu-system-x86_64.exe' : '/usr/bin/qemu-system-x86_64',
      ...qemuArgv({
        platform,
        guestArch: 'x86_64',
        accel: 'tcg',
        kernel: '/k',
        initrd: '/i',
        cmdline: 'console=ttyS0',
        sshPort,
        consoleLog: '/c',
        qmp,
        pidfile: '/p',
        name: 'nslab-ab12',
      }),
    ];
    const sock = { socket: '/run/user/501/nslab-501/vm-ab12/qmp.sock' };
    const cases = [
      ['linux', sock, (a: string[]) => a],
      ['darwin', sock, (a: string[]) => a.join(' ')],
      ['win32', { port: 4444 }, (a: string[]) => a.map((w) => (w.includes(' ') ? `"${w}"` : w)).join(' ')],
    ] as const;
    for (const [platform, qmp, render] of cases) {
      const line = render(argvOf(platform, 2222, qmp));
      expect(looksLikeOurQemu(line, 'nslab-ab12', { sshPort: 2222, qmp }), platform).toBe(true);
      // A planted state: another port (also a prefix or an extension of the real one), another QMP address.
      for (const sshPort of [22, 222, 22222, 2223])
        expect(looksLikeOurQemu(line, 'nslab-ab12', { sshPort, qmp }), `${platform} ${sshPort}`).toBe(false);
      const otherQmp = 'socket' in qmp ? { socket: '/tmp/evil/qmp.sock' } : { port: 4445 };
      expect(looksLikeOurQemu(line, 'nslab-ab12', { sshPort: 2222, qmp: otherQmp }), platform).toBe(false);
      expect(
        looksLikeOurQemu(line, 'nslab-ab12', { sshPort: '2222|.*' as unknown as number }),
        platform,
      ).toBe(false);
    }
    // A QMP socket path with a space (a macOS TMPDIR may have one): ps does not quote it.
    const spaced = { socket: '/Users/a b/T/nslab-501/vm-ab12/qmp.sock' };
    expect(looksLikeOurQemu(argvOf('darwin', 2222, spaced).join(' '), 'nslab-ab12', { qmp: spaced })).toBe(
      true,
    );
  });

  it('recognises only the QEMU started under that name (a reused PID is left alone)', () => {
    const argv = ['/usr/bin/qemu-system-x86_64', '-name', 'nslab-ab12', '-m', '512'];
    expect(looksLikeOurQemu(argv, 'nslab-ab12')).toBe(true);
    expect(looksLikeOurQemu(argv, 'nslab-ffff')).toBe(false);
    expect(looksLikeOurQemu(['/usr/bin/vim', '-name', 'nslab-ab12'], 'nslab-ab12')).toBe(false);
    expect(
      looksLikeOurQemu('/opt/homebrew/bin/qemu-system-aarch64 -name nslab-ab12 -machine virt', 'nslab-ab12'),
    ).toBe(true);
    expect(
      looksLikeOurQemu(
        '"C:\\\\Program Files\\\\qemu\\\\qemu-system-x86_64.exe" -name "nslab-ab12"',
        'nslab-ab12',
      ),
    ).toBe(true);
    expect(looksLikeOurQemu('/opt/homebrew/bin/qemu-system-aarch64 -name nslab-ab123', 'nslab-ab12')).toBe(
      false,
    );
  });
});
