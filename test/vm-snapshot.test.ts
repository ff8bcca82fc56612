// Restoring a booted guest instead of booting it: real QEMU under TCG, real saved guests, real SSH. The
// project's image is copied into a folder of this test, so that its snapshots are this test's alone.
import {
  chmodSync,
  cpSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImageDir } from '../harness/image/cache.ts';
import { hostArch } from '../harness/image/arch.ts';
import type { BuiltImage } from '../harness/image/manifest.ts';
import { opensshPrivateKey, newEd25519Key } from '../harness/image/secrets.ts';
import { HostKeyMismatchError, SshSession } from '../harness/ssh/index.ts';
import { SnapshotStore } from '../harness/vm/snapshot-store.ts';
import { VmBuilder, type StartedVm } from '../harness/vm/vm.ts';
import { projectImage, qemuProcessesWith } from './helpers/image.ts';
import { realQemu } from './helpers/stand-in-qemu.ts';
import { backportsQemu } from './helpers/backports-qemu.ts';
import { qemuVersionLine } from '../harness/vm/qemu-binary.ts';
import { skipNote } from './helpers/tools.ts';

const ARCH = hostArch();
// Debian 12's QEMU 7.2 (saves through exec:cat, restores from an inherited fd) and, on x86_64, QEMU 10 from
// bookworm-backports (file: both ways, as Homebrew's and the Windows installers' QEMUs do).
const newer =
  ARCH === 'x86_64' ? await backportsQemu() : { reason: 'bookworm-backports QEMU is for x86_64 only' };
const QEMUS: { label: string; qemu: string | undefined; skip: string }[] = [
  { label: "Debian 12's QEMU", qemu: realQemu(ARCH), skip: `qemu-system-${ARCH} is not on PATH` },
  {
    label: 'QEMU 10 from bookworm-backports',
    qemu: 'qemu' in newer ? newer.qemu : undefined,
    skip: 'reason' in newer ? newer.reason : '',
  },
];

describe.each(QEMUS)('$label', ({ label, qemu, skip }) => {
  let dir: string;
  let image: BuiltImage;
  const logs: string[] = [];

  const builder = (img: BuiltImage = image) =>
    new VmBuilder(img)
      .withAccel('tcg')
      .withQemu(qemu)
      .withLog((l) => logs.push(l));
  const states = (img: BuiltImage = image) =>
    readdirSync(join(img.dir, 'snapshots')).filter((f) => f.endsWith('.vmstate'));

  beforeAll(async () => {
    if (!qemu) return;
    dir = mkdtempSync(join(tmpdir(), 'nslab-snapshots-'));
    const project = await projectImage(ARCH);
    cpSync(project.dir, join(dir, 'image'), { recursive: true, filter: (src) => !src.includes('snapshots') });
    image = await openImageDir(join(dir, 'image'));
    // The first boot is cold, and saves the guest while its init waits for its keys.
    const vm = await builder().boot();
    expect(vm.state.boot).toEqual({ mode: 'cold', snapshot: 'saved' });
    await vm.stop();
  }, 180_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe.runIf(qemu)(`restoring a saved ${ARCH} guest with ${label}${skipNote(qemu, skip)}`, () => {
    it('two guests restored from one snapshot have keys of their own: each pinned, the other refused', async () => {
      await using a = await builder().boot();
      await using b = await builder().boot();
      for (const vm of [a, b]) expect(vm.state.boot?.mode).toBe('restore');
      expect(a.state.hostKeyBlob).not.toBe(b.state.hostKeyBlob);
      expect(readFileSync(a.state.clientKeyFile, 'utf8')).not.toBe(
        readFileSync(b.state.clientKeyFile, 'utf8'),
      );
      expect((await a.exec('echo a')).stdout).toBe('a\n');
      expect((await b.exec('echo b')).stdout).toBe('b\n');
      const connect = (vm: StartedVm, key: string, pin: string) =>
        SshSession.connect({
          host: '127.0.0.1',
          port: vm.sshPort,
          username: 'root',
          privateKey: key,
          hostKeyBlob: Buffer.from(pin, 'base64'),
        });
      const keyOf = (vm: StartedVm) => readFileSync(vm.state.clientKeyFile, 'utf8');
      // b presents its own host key: pinned to a's, the connection is refused.
      await expect(connect(b, keyOf(b), a.state.hostKeyBlob)).rejects.toBeInstanceOf(HostKeyMismatchError);
      // a's client key does not open b; b's own does.
      await expect(connect(b, keyOf(a), b.state.hostKeyBlob)).rejects.toThrow(/authentication/i);
      (await connect(b, keyOf(b), b.state.hostKeyBlob)).close();
      // And a key no boot was given opens neither.
      await expect(connect(a, opensshPrivateKey(newEd25519Key()), a.state.hostKeyBlob)).rejects.toThrow(
        /authentication/i,
      );
    }, 180_000);

    it('a restored guest has the time of now, and its clocks do not go back', async () => {
      const bootStart = Date.now();
      await using vm = await builder().boot();
      expect(vm.state.boot?.mode).toBe('restore');
      // The promise: the guest's clock is set to the host's at the handover of its keys, in whole seconds
      // (secretsMessage sends floor(Date.now() / 1000)), and runs on from there. The handover comes after
      // the restore (the boot's "restored" phase) and before the boot returns. So the guest's second, read
      // between two readings of the host's clock, is at least the host's second at the restore and at most
      // the host's second after the read: never the saved guest's old time, never ahead of the host. (Not a
      // window around the read alone: the guest sets the clock once its keys are written, so under TCG it
      // lags the host by the truncated second plus that, 1.7 s measured here.)
      const restoredAt = bootStart + vm.phases.restored! - 1; // the phase is in whole ms, rounded
      const guestNow = Number((await vm.exec('date +%s')).stdout);
      const after = Date.now();
      expect(guestNow).toBeGreaterThanOrEqual(Math.floor(restoredAt / 1000));
      expect(guestNow).toBeLessThanOrEqual(Math.floor(after / 1000));
      const r = await vm.exec('cut -d" " -f1 /proc/uptime; sleep 1; cut -d" " -f1 /proc/uptime');
      const [up1, up2] = r.stdout.trim().split('\n').map(Number);
      expect(up2!).toBeGreaterThan(up1!);
      // The restore is on the timeline; the kernel's boot is not (it happened before the save).
      expect(Object.keys(vm.phases)).toEqual(
        expect.arrayContaining(['qemuSpawned', 'restored', 'secretsSent', 'firstCommand']),
      );
      expect(vm.phases.kernelToInit).toBeUndefined();
    }, 180_000);

    it.each([
      ['the memory size', (b: VmBuilder) => b.withMemory(576)],
      ['the kernel command line (argv)', (b: VmBuilder) => b.withExtraCmdline('nslab.test=1')],
    ])(
      'a change of %s: a cold boot that saves a new snapshot, then a restore',
      async (_, change) => {
        const before = states().length;
        const cold = await change(builder()).boot();
        expect(cold.state.boot).toEqual({ mode: 'cold', snapshot: 'saved' });
        await cold.stop();
        expect(states()).toHaveLength(before + 1);
        const again = await change(builder()).boot();
        expect(again.state.boot?.mode).toBe('restore');
        await again.stop();
      },
      180_000,
    );

    it("a change of QEMU's version string: a cold boot and a new snapshot", async () => {
      // The same QEMU behind a wrapper that reports another patch release (what an upgrade does to the key),
      // so that it is still saved the way this QEMU can (exec:cat before 8.2, file: after).
      const [major, minor] = /version (\d+)\.(\d+)/.exec(await qemuVersionLine(qemu!))!.slice(1);
      const wrapper = join(dir, `qemu-system-${ARCH}`);
      writeFileSync(
        wrapper,
        `#!/bin/sh\n[ "$1" = --version ] && { echo 'QEMU emulator version ${major}.${minor}.99 (nslab test)'; exit 0; }\nexec '${qemu}' "$@"\n`,
      );
      chmodSync(wrapper, 0o755);
      const before = states().length;
      await using vm = await builder().withQemu(wrapper).boot();
      expect(vm.state.boot).toEqual({ mode: 'cold', snapshot: 'saved' });
      expect(states()).toHaveLength(before + 1);
    }, 180_000);

    it("another image (another digest): a cold boot, even with the first image's snapshots at hand", async () => {
      const other = join(dir, 'other-image');
      cpSync(image.dir, other, { recursive: true });
      const manifest = JSON.parse(readFileSync(join(other, 'manifest.json'), 'utf8'));
      manifest.digest = 'f'.repeat(32);
      writeFileSync(join(other, 'manifest.json'), JSON.stringify(manifest));
      const otherImage = await openImageDir(other);
      const copied = states(otherImage).length;
      await using vm = await builder(otherImage).boot();
      expect(vm.state.boot).toEqual({ mode: 'cold', snapshot: 'saved' });
      expect(states(otherImage)).toHaveLength(copied + 1);
    }, 180_000);

    it('a damaged snapshot: the boot says so, boots cold, saves a good one; never an error', async () => {
      const store = new SnapshotStore(image.dir);
      const { snapshots } = await store.list();
      expect(snapshots.length).toBeGreaterThan(0);
      // Damage every saved guest of this image in place (same size, so only QEMU can tell).
      for (const s of snapshots) {
        const fd = openSync(join(store.dir, `${s.key}.vmstate`), 'r+');
        writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, 0);
        closeSync(fd);
      }
      logs.length = 0;
      await using vm = await builder().boot();
      expect(vm.state.boot).toEqual({ mode: 'cold', snapshot: 'saved' });
      expect(logs.join('\n')).toMatch(/the saved guest did not come up .*; booting cold/);
      expect((await vm.exec('echo ok')).stdout).toBe('ok\n');
      await vm.stop();
      await using restored = await builder().boot();
      expect(restored.state.boot?.mode).toBe('restore');
    }, 180_000);

    it('--no-snapshot: a cold boot that saves nothing', async () => {
      const before = states();
      await using vm = await builder().withSnapshots(false).boot();
      expect(vm.state.boot).toEqual({ mode: 'cold', snapshot: 'off' });
      expect(states()).toEqual(before);
    }, 180_000);

    it('leaves no QEMU behind', async () => {
      expect(await qemuProcessesWith(dir)).toEqual([]);
    });
  });
});
