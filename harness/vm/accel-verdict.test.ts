import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccelVerdicts, deviceIdentity, lookUpVerdict, type VerdictKey } from './accel-verdict.ts';
import { platformFor } from '../platform/index.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-verdicts-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const key: VerdictKey = {
  accel: 'kvm',
  guestArch: 'x86_64',
  qemu: '/usr/bin/qemu-system-x86_64',
  qemuVersion: 'QEMU emulator version 7.2.22',
  hostKernel: 'Linux 6.1.0',
  device: '/dev/kvm rdev=2792 ino=82 ctime=1',
  cpu: 'host',
};

describe('AccelVerdicts', () => {
  it('remembers a failure with its words, in a private file, and forgets on demand', async () => {
    const store = new AccelVerdicts(join(dir, 'sub', 'accel-verdicts.json'));
    expect(await store.get(key)).toBeUndefined();
    await store.record(key, { ok: false, failure: 'QEMU aborted: failed to set MSR 0x10a to 0x69' });
    expect(await store.get(key)).toMatchObject({
      ok: false,
      failure: 'QEMU aborted: failed to set MSR 0x10a to 0x69',
    });
    expect(statSync(store.file).mode & 0o777).toBe(0o600);
    // A second record for the same key replaces the first.
    await store.record(key, { ok: true });
    expect(await store.all()).toHaveLength(1);
    expect(await store.get(key)).toMatchObject({ ok: true });
    expect(await store.forget()).toBe(1);
    expect(await store.get(key)).toBeUndefined();
  });

  it.each(Object.keys(key) as (keyof VerdictKey)[])(
    'a different %s is a different question',
    async (field) => {
      const store = new AccelVerdicts(join(dir, 'v.json'));
      await store.record(key, { ok: false, failure: 'x' });
      expect(await store.get({ ...key, [field]: `${key[field]}-changed` })).toBeUndefined();
      expect(await store.get({ ...key })).toBeDefined();
    },
  );

  it('a damaged file is an empty memory, and the next record repairs it', async () => {
    const file = join(dir, 'v.json');
    writeFileSync(file, '{not json');
    const store = new AccelVerdicts(file);
    expect(await store.all()).toEqual([]);
    await store.record(key, { ok: true });
    expect(JSON.parse(readFileSync(file, 'utf8')).verdicts).toHaveLength(1);
  });
});

describe('the key', () => {
  it('names the device by number, inode and change time, so a reloaded module is a new question', async () => {
    const dev = join(dir, 'kvm');
    writeFileSync(dev, '');
    process.env.NSLAB_KVM_DEVICE = dev;
    try {
      const s = statSync(dev);
      expect(await deviceIdentity('kvm', platformFor('linux'))).toBe(
        `${dev} rdev=${s.rdev} ino=${s.ino} ctime=${Math.round(s.ctimeMs)}`,
      );
      const store = new AccelVerdicts(join(dir, 'v.json'));
      const input = {
        accel: 'kvm',
        guestArch: 'x86_64',
        qemu: dev,
        qemuVersion: 'v',
        platform: platformFor('linux'),
      } as const;
      const { key: k, verdict } = await lookUpVerdict(store, input);
      expect(verdict).toBeUndefined();
      expect(k).toMatchObject({
        accel: 'kvm',
        qemu: dev,
        qemuVersion: 'v',
        cpu: 'host',
        device: expect.stringContaining(dev),
      });
      expect(k.hostKernel).toMatch(/^Linux /);
      await store.record(k, { ok: false, failure: 'x', settled: true });
      expect((await lookUpVerdict(store, input)).verdict).toMatchObject({
        ok: false,
        failure: 'x',
        settled: true,
      });
      rmSync(dev);
      expect(await deviceIdentity('kvm', platformFor('linux'))).toBe(`${dev} absent`);
    } finally {
      delete process.env.NSLAB_KVM_DEVICE;
    }
  });
  it('other hosts are keyed by their accelerator and OS (the kernel release is in the key too)', async () => {
    expect(await deviceIdentity('hvf', platformFor('darwin'))).toBe('hvf on darwin');
    expect(await deviceIdentity('whpx', platformFor('win32'))).toBe('whpx on win32');
  });
});
