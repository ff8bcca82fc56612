import { describe, expect, it } from 'vitest';
import { platformFor } from './index.ts';
import { setupPlan, systemPackages } from './system-packages.ts';

const linux = platformFor('linux');

describe('the system packages of each host', () => {
  it('Linux: QEMU for the host architecture at run time, both architectures for the tests', () => {
    expect(systemPackages(linux, 'x86_64').runtime.map((p) => p.name)).toContain('qemu-system-x86');
    expect(systemPackages(linux, 'aarch64').runtime.map((p) => p.name)).toContain('qemu-system-arm');
    const test = systemPackages(linux, 'x86_64').test.map((p) => p.name);
    expect(test).toEqual(expect.arrayContaining(['qemu-system-x86', 'qemu-system-arm', 'cpio', 'docker.io']));
    for (const p of [...systemPackages(linux, 'x86_64').runtime, ...systemPackages(linux, 'x86_64').test])
      expect(p.why.length, p.name).toBeGreaterThan(10);
  });
  it('macOS and Windows: QEMU from Homebrew and from winget', () => {
    expect(systemPackages(platformFor('darwin'), 'aarch64').runtime.map((p) => p.name)).toEqual(['qemu']);
    expect(systemPackages(platformFor('win32'), 'x86_64').runtime.map((p) => p.name)).toEqual([
      'SoftwareFreedomConservancy.QEMU',
    ]);
  });
});

describe('setupPlan', () => {
  it('nothing missing: nothing to run', () => {
    expect(setupPlan({ platform: linux, missing: [], root: false, sudo: false })).toEqual({
      commands: [],
      missing: [],
    });
  });
  it('apt as root: update, then install', () => {
    expect(setupPlan({ platform: linux, missing: ['cpio'], root: true, sudo: false })).toEqual({
      commands: [
        ['apt-get', 'update', '-q'],
        ['apt-get', 'install', '-y', '--no-install-recommends', 'cpio'],
      ],
      missing: ['cpio'],
    });
  });
  it('apt as a user with password-less sudo: the same through sudo -n', () => {
    const plan = setupPlan({ platform: linux, missing: ['cpio'], root: false, sudo: true });
    expect('commands' in plan && plan.commands.every((c) => c[0] === 'sudo' && c[1] === '-n')).toBe(true);
  });
  it('apt as a user without sudo: an error naming the packages and the command to type', () => {
    expect(setupPlan({ platform: linux, missing: ['cpio', 'runc'], root: false, sudo: false })).toEqual({
      error: expect.stringMatching(/missing system packages: cpio, runc; installing them needs root/),
      hint: 'run as root: apt-get install -y --no-install-recommends cpio runc',
      missing: ['cpio', 'runc'],
    });
  });
  it('Homebrew and winget need no root', () => {
    expect(
      setupPlan({ platform: platformFor('darwin'), missing: ['qemu'], root: false, sudo: false }),
    ).toEqual({
      commands: [['brew', 'install', 'qemu']],
      missing: ['qemu'],
    });
  });
});
