import { describe, expect, it } from 'vitest';
import { doctorReport } from './checks.ts';
import type { DoctorFacts } from './facts.ts';
import { formatDoctor } from './format.ts';

// A Linux host with everything, as gathered by gatherDoctorFacts; each case changes one fact.
const linux = (): DoctorFacts => ({
  host: { platform: 'linux', arch: 'x86_64', os: 'Linux', release: '6.1.0-28-amd64', version: '#1 SMP' },
  qemu: [
    {
      arch: 'x86_64',
      path: '/usr/bin/qemu-system-x86_64',
      versionLine: 'QEMU emulator version 7.2.22',
      installHint: 'apt-get install qemu-system-x86 (npm run setup does)',
    },
    { arch: 'aarch64', installHint: 'apt-get install qemu-system-arm (npm run setup does)' },
  ],
  accel: {
    native: 'kvm',
    device: { path: '/dev/kvm', opens: true },
    decision: { accel: 'kvm', reason: 'kvm is available (x86_64 guest on a x86_64 linux host)' },
    verdictFile: '/home/u/.local/state/nslab/accel-verdicts.json',
    allVerdicts: 0,
  },
  native: {
    platform: 'linux',
    uid: 1000,
    unshareFound: true,
    pidNamespaces: true,
    sudo: false,
    userns: true,
    maxUserNamespaces: 63000,
    unprivilegedUsernsClone: 1,
  },
  runtime: {
    dir: '/run/user/1000/nslab-1000',
    from: 'XDG_RUNTIME_DIR',
    exists: true,
    otherwise: 'set XDG_RUNTIME_DIR (or NSLAB_RUNTIME_DIR) to a folder of yours with mode 0700',
  },
  cache: { root: '/p/vm-images', images: [], packageBytes: 0 },
  builders: {
    archive: {
      url: 'https://deb.debian.org/debian/dists/bookworm/InRelease',
      answers: true,
      detail: 'HTTP 200',
      ms: 40,
    },
  },
  tools: [
    { name: 'unshare', path: '/usr/bin/unshare', package: 'util-linux', neededFor: 'native scenarios' },
  ],
});
const item = (r: ReturnType<typeof doctorReport>, section: string, text: RegExp) =>
  r.items.find((i) => i.section === section && text.test(i.text));

describe('doctorReport', () => {
  it('a host with everything: a VM run is possible, kvm not tried yet, rootless namespaces', () => {
    const r = doctorReport(linux());
    expect(r.vmPossible).toBe(true);
    expect(r.missing).toEqual([]);
    expect(r.accelerator.accel).toBe('kvm');
    expect(item(r, 'accelerator', /kvm: available, not tried yet/)).toMatchObject({
      mark: 'info',
      detail: expect.arrayContaining(['/dev/kvm opens read-write']),
      hint: 'nslab doctor --recheck boots a VM now to find out',
    });
    expect(item(r, 'native', /rootless, in a user namespace/)?.mark).toBe('ok');
    expect(item(r, 'qemu', /aarch64 guests: not found \(only needed for --arch aarch64\)/)?.mark).toBe(
      'info',
    );
    expect(formatDoctor(r)).toMatch(/A VM run can start here \(accelerator: kvm\)\.\n$/);
    // The guest's network policy, and how to change it.
    expect(item(r, 'network', /isolated: a VM guest reaches nothing but its own SSH forward/)).toMatchObject({
      detail: [expect.stringMatching(/^--guest-network opens it/)],
    });
    expect(formatDoctor(r)).toContain('Guest network\n');
  });

  it('kvm remembered as failing: warn with QEMU words and the recheck hint; auto uses tcg', () => {
    const f = linux();
    f.accel.remembered = {
      key: {} as never,
      ok: false,
      failure: 'QEMU aborted: failed to set MSR 0x10a to 0x69',
      settled: true,
      checkedAt: '2026-11-28T10:00:00Z',
    };
    const r = doctorReport(f);
    expect(r.vmPossible).toBe(true);
    expect(r.accelerator).toEqual({
      accel: 'tcg',
      reason: 'kvm failed: QEMU aborted: failed to set MSR 0x10a to 0x69',
    });
    expect(item(r, 'accelerator', /kvm: fails here/)).toMatchObject({
      mark: 'warn',
      detail: expect.arrayContaining([
        'trial boot on 2026-11-28T10:00:00Z: QEMU aborted: failed to set MSR 0x10a to 0x69',
      ]),
      hint: expect.stringContaining('nslab doctor --recheck'),
    });
  });

  it('kvm failed once, not for certain: warn, and auto still tries it', () => {
    const f = linux();
    f.accel.remembered = {
      key: {} as never,
      ok: false,
      failure: 'no console output within 3 s: the guest hangs under this accelerator',
      failures: 1,
      settled: false,
      checkedAt: '2026-11-28T10:00:00Z',
    };
    const r = doctorReport(f);
    expect(r.accelerator.accel).toBe('kvm');
    expect(item(r, 'accelerator', /kvm: failed once here, tried again on the next VM run/)).toMatchObject({
      mark: 'warn',
      detail: expect.arrayContaining([
        'a second failure in a row settles it: later runs then go straight to tcg',
      ]),
    });
  });

  it('kvm remembered as working: ok with the date of the trial', () => {
    const f = linux();
    f.accel.remembered = { key: {} as never, ok: true, checkedAt: '2026-11-28T10:00:00Z' };
    const r = doctorReport(f);
    expect(item(r, 'accelerator', /kvm: boots the guest here/)?.mark).toBe('ok');
    expect(r.accelerator.accel).toBe('kvm');
  });

  it('a /dev/kvm that does not open: warn with the evidence and how to fix it; tcg', () => {
    const f = linux();
    f.accel.device = { path: '/dev/kvm', opens: false, error: 'EACCES' };
    f.accel.decision = { accel: 'tcg', reason: 'software emulation: /dev/kvm is missing or not read-write' };
    const r = doctorReport(f);
    expect(r.vmPossible).toBe(true);
    expect(item(r, 'accelerator', /kvm: not usable/)).toMatchObject({
      mark: 'warn',
      detail: expect.arrayContaining(['/dev/kvm does not open read-write (EACCES)']),
      hint: expect.stringContaining('kvm group'),
    });
  });

  it('no QEMU for this host: not possible, and the install command is named', () => {
    const f = linux();
    f.qemu[0] = { arch: 'x86_64', installHint: 'apt-get install qemu-system-x86 (npm run setup does)' };
    const r = doctorReport(f);
    expect(r.vmPossible).toBe(false);
    expect(r.missing).toEqual([
      {
        what: 'QEMU for x86_64 guests: not found',
        how: 'apt-get install qemu-system-x86 (npm run setup does)',
      },
    ]);
    expect(formatDoctor(r)).toMatch(
      /A VM run cannot start here\. Missing:\n {2}- QEMU for x86_64 guests: not found\n {4}→ apt-get install qemu-system-x86/,
    );
  });

  it('an unsafe runtime folder, and no image nor builder: both are missing', () => {
    const f = linux();
    f.runtime.problem = { what: 'is a symlink to /tmp/evil', fix: 'remove the link (rm /tmp/nslab-1000)' };
    expect(doctorReport(f).missing[0]?.how).toBe(
      'remove the link (rm /tmp/nslab-1000), or set XDG_RUNTIME_DIR (or NSLAB_RUNTIME_DIR) to a folder of yours with mode 0700',
    );
    f.builders = {
      archive: {
        url: 'https://deb.debian.org/debian/dists/bookworm/InRelease',
        answers: false,
        detail: 'fetch failed (ENOTFOUND)',
        ms: 3,
      },
    };
    const r = doctorReport(f);
    expect(r.vmPossible).toBe(false);
    expect(r.missing.map((m) => m.what)).toEqual([
      'runtime folder /run/user/1000/nslab-1000 (from XDG_RUNTIME_DIR) is a symlink to /tmp/evil',
      "no x86_64 image in the cache, and Debian's archive does not answer (https://deb.debian.org/debian/dists/bookworm/InRelease: fetch failed (ENOTFOUND))",
    ]);
    expect(r.missing[1]?.how).toMatch(/--image DIR/);
    // A cached image of this host's architecture is enough to boot without a builder.
    f.runtime.problem = undefined;
    f.cache.images = [{ digest: 'd', arch: 'x86_64', builder: 'debian', createdAt: 'x', bytes: 1 }];
    expect(doctorReport(f).vmPossible).toBe(true);
  });

  it('a --recheck trial that failed even under tcg: not possible, with the boot error', () => {
    const r = doctorReport(linux(), {
      message: 'no SSH banner within 120 s',
      hint: 'raise it with --boot-timeout',
    });
    expect(r.vmPossible).toBe(false);
    expect(r.missing).toEqual([
      { what: 'the trial boot failed: no SSH banner within 120 s', how: 'raise it with --boot-timeout' },
    ]);
  });

  it('namespaces: a named skip reason with its fix', () => {
    const f = linux();
    f.native = { ...f.native!, userns: false, apparmorRestrictsUserns: 1 };
    const r = doctorReport(f);
    expect(item(r, 'native', /skipped here: apparmor-userns/)).toMatchObject({ mark: 'warn' });
    expect(item(r, 'native', /apparmor-userns/)?.detail).toContain(
      'kernel.apparmor_restrict_unprivileged_userns = 1',
    );
  });

  it('macOS without the Hypervisor framework (a CI runner): tcg, with why', () => {
    const f = linux();
    f.host = {
      platform: 'darwin',
      arch: 'aarch64',
      os: 'Darwin',
      release: '24.0.0',
      version: 'Darwin Kernel',
    };
    f.qemu = [
      {
        arch: 'aarch64',
        path: '/opt/homebrew/bin/qemu-system-aarch64',
        versionLine: 'QEMU emulator version 9.2.0',
        installHint: 'brew install qemu',
      },
    ];
    f.accel = {
      native: 'hvf',
      decision: { accel: 'tcg', reason: 'software emulation: the Hypervisor framework is not available' },
      verdictFile: '/Users/u/Library/Application Support/nslab/accel-verdicts.json',
      allVerdicts: 0,
    };
    f.native = undefined;
    f.tools = [];
    const r = doctorReport(f);
    expect(r.vmPossible).toBe(true);
    expect(item(r, 'accelerator', /hvf: not usable/)?.mark).toBe('warn');
    expect(item(r, 'native', /need Linux; on darwin they run in the VM/)?.mark).toBe('info');
  });

  it('an old QEMU on Apple Silicon: not possible, with the upgrade', () => {
    const f = linux();
    f.host.platform = 'darwin';
    f.qemu[0] = {
      arch: 'x86_64',
      path: '/usr/local/bin/qemu-system-x86_64',
      versionLine: 'QEMU emulator version 8.1.0',
      versionProblem: 'QEMU 8.1.0 is too old for Apple Silicon: 8.2.1 or newer is needed (brew upgrade qemu)',
      installHint: 'brew install qemu',
    };
    expect(doctorReport(f).missing[0]?.what).toMatch(/too old for Apple Silicon/);
  });
});
