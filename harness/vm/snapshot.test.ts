import { mkdtempSync, rmSync, truncateSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { qemuArgv, type QemuArgvInput } from './qemu-argv.ts';
import { snapshotArgv, snapshotKey, type SnapshotKeyInput } from './snapshot-key.ts';
import { SnapshotStore } from './snapshot-store.ts';
import { migrationUris } from './snapshot.ts';
import { platformFor } from '../platform/index.ts';

const run = (n: number, extra: Partial<QemuArgvInput> = {}): string[] =>
  qemuArgv({
    platform: 'linux',
    guestArch: 'x86_64',
    accel: 'tcg',
    kernel: `/cache/img${n}/nslab-vmlinux`,
    initrd: `/cache/img${n}/nslab-initrd.img`,
    cmdline: 'console=ttyS0 panic=-1',
    sshPort: 40000 + n,
    consoleLog: `/run/vm-${n}/console.log`,
    qmp: { socket: `/run/vm-${n}/qmp.sock` },
    pidfile: `/run/vm-${n}/qemu.pid`,
    name: `nslab-${n}`,
    ...extra,
  });

const base: SnapshotKeyInput = {
  imageDigest: 'a'.repeat(32),
  qemu: '/usr/bin/qemu-system-x86_64',
  qemuVersion: 'QEMU emulator version 7.2.22',
  accel: 'tcg',
  hostCpu: 'Intel(R) Xeon(R)',
  memoryMiB: 512,
  argv: run(1),
};

describe('the snapshot key', () => {
  it('two boots of the same machine (other names, paths, ports) have the same key', () => {
    expect(snapshotArgv(run(1))).toEqual(snapshotArgv(run(2)));
    expect(snapshotKey(base)).toBe(snapshotKey({ ...base, argv: run(2) }));
    // A restore's own -incoming is not part of the machine.
    expect(snapshotKey({ ...base, argv: [...run(3), '-incoming', 'defer'] })).toBe(snapshotKey(base));
    // The host CPU only counts under a hardware accelerator.
    expect(snapshotKey({ ...base, hostCpu: 'AMD EPYC' })).toBe(snapshotKey(base));
  });

  it.each<[string, Partial<SnapshotKeyInput>]>([
    ['the image', { imageDigest: 'b'.repeat(32) }],
    ['the QEMU binary', { qemu: '/opt/qemu/bin/qemu-system-x86_64' }],
    ['the QEMU version', { qemuVersion: 'QEMU emulator version 8.2.1' }],
    ['the accelerator', { accel: 'kvm' }],
    ['the memory', { memoryMiB: 1024 }],
    ['the machine argv (CPU model)', { argv: run(1).map((a) => (a === 'qemu64,+rdrand' ? 'max' : a)) }],
    ['the kernel command line', { argv: run(1, { cmdline: 'console=ttyS0 quiet' }) }],
  ])('changes with %s', (_, change) => {
    expect(snapshotKey({ ...base, ...change })).not.toBe(snapshotKey(base));
  });

  it('under a hardware accelerator, the host CPU model is part of it', () => {
    const kvm = { ...base, accel: 'kvm' as const };
    expect(snapshotKey({ ...kvm, hostCpu: 'AMD EPYC' })).not.toBe(snapshotKey(kvm));
  });
});

describe('SnapshotStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nslab-snap-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const save = async (store: SnapshotStore, key: string, bytes = 1000) => {
    const w = await store.begin(key);
    writeFileSync(w.path, Buffer.alloc(bytes, 7));
    return w.commit({ accel: 'tcg', qemuVersion: 'v', createdAt: new Date().toISOString(), saveMs: 5 });
  };

  it('a committed snapshot is found; nothing is found before the commit', async () => {
    const store = new SnapshotStore(dir);
    const w = await store.begin('k1');
    writeFileSync(w.path, 'partial');
    expect(await store.find('k1')).toBeUndefined();
    await w.abort();
    await save(store, 'k1');
    expect(await store.find('k1')).toMatchObject({ meta: { key: 'k1', size: 1000 } });
    expect((await store.list()).snapshots.map((m) => m.key)).toEqual(['k1']);
  });

  it('a truncated state file is not used, and is removed', async () => {
    const store = new SnapshotStore(dir);
    await save(store, 'k2');
    truncateSync(join(store.dir, 'k2.vmstate'), 10);
    expect(await store.find('k2')).toBeUndefined();
    expect(readdirSync(store.dir)).toEqual([]);
  });

  it('clear() removes them all, leftovers included', async () => {
    const store = new SnapshotStore(dir);
    await save(store, 'k3');
    await store.begin('k4');
    writeFileSync(join(store.dir, '.tmp-k4.x'), 'left');
    expect(await store.clear()).toBe(1);
    expect((await store.list()).snapshots).toEqual([]);
  });
});

describe('migrationUris: how QEMU writes and reads a saved guest', () => {
  it('QEMU 8.2 and later, 11.x included: the file: transport both ways, on every host, no fd inherited', () => {
    for (const version of [
      [8, 2, 0],
      [10, 0, 2],
      [11, 0, 0],
    ] as const)
      for (const os of ['linux', 'darwin', 'win32'] as const)
        expect(migrationUris('/c/s.vmstate', [...version], platformFor(os))).toEqual({
          to: 'file:/c/s.vmstate',
          from: 'file:/c/s.vmstate',
        });
  });
  it('before 8.2: saved through sh (the path quoted for it), restored from an inherited fd 3; none on Windows', () => {
    for (const os of ['linux', 'darwin'] as const)
      expect(migrationUris("/c/it's here.vmstate", [7, 2, 22], platformFor(os))).toEqual({
        to: "exec:cat > '/c/it'\\''s here.vmstate'",
        from: 'fd:3',
        inheritFd: 3,
      });
    expect(migrationUris('C:\\c\\s.vmstate', [8, 1, 9], platformFor('win32'))).toBeUndefined();
  });
});
