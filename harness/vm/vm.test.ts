import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltImage } from '../image/manifest.ts';
import { newEd25519Key, opensshPrivateKey } from '../image/secrets.ts';
import { HostKeyMismatchError, SshSession } from '../ssh/index.ts';
import { StartedVm, VmBuilder } from './vm.ts';
import { projectImage, qemuProcessesWith } from '../../test/helpers/image.ts';
import { realQemu } from '../../test/helpers/stand-in-qemu.ts';
import { skipNote } from '../../test/helpers/tools.ts';
import { hostArch } from '../image/arch.ts';
import { alive } from './state.ts';
import { runtimeDir } from './runtime-dir.ts';
import { join } from 'node:path';

// Real QEMU under TCG, real dropbear, real SSH. Every test ends with its QEMU gone.
const ARCH = hostArch();
const hasQemu = realQemu(ARCH) !== undefined;
const noQemu = skipNote(hasQemu, `qemu-system-${ARCH} is not on PATH`);

let image: BuiltImage;
let vm: StartedVm;
beforeAll(async () => {
  if (!hasQemu) return;
  image = await projectImage(ARCH);
  vm = await new VmBuilder(image).withAccel('tcg').boot();
}, 180_000);
afterAll(async () => {
  await vm?.stop();
});

describe.runIf(hasQemu)(`a booted ${ARCH} VM${noQemu}`, () => {
  it('runs commands over SSH: stdout, stderr, exit status', async () => {
    const r = await vm.exec('uname -m; echo oops >&2; exit 7');
    expect(r).toMatchObject({ stdout: `${ARCH}\n`, stderr: 'oops\n', code: 7 });
    // util-linux's unshare (it has --kill-child), not busybox's applet, under dash.
    const h = await vm.exec('cat /etc/hostname; readlink /bin/sh; unshare --help | grep -c -e --kill-child');
    expect(h.stdout).toBe('nslab-vm\ndash\n1\n');
  });

  it('records each boot phase, in order: a cold boot, or a restore from a saved guest', () => {
    const p = vm.phases;
    const first =
      vm.state.boot?.mode === 'restore'
        ? ['restored']
        : ['firstConsoleByte', 'kernelToInit', ...(p.snapshotSaved ? ['snapshotSaved'] : [])];
    const order = ['qemuSpawned', ...first, 'secretsSent', 'secretsReceived', 'guestReady', 'firstCommand'];
    expect(Object.keys(p)).toEqual(expect.arrayContaining(order));
    const values = order.map((k) => p[k]!);
    expect([...values].sort((a, b) => a - b)).toEqual(values);
  });

  it('forwards SSH on 127.0.0.1 only', () => {
    const argv: string[] = JSON.parse(readFileSync(`${vm.dir}/qemu.argv.json`, 'utf8'));
    expect(argv.find((a) => a.includes('hostfwd'))).toBe(
      `user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${vm.sshPort}-:22`,
    );
    const listen = readFileSync('/proc/net/tcp', 'utf8')
      .split('\n')
      .filter((l) => / 0A /.test(l))
      .map((l) => l.trim().split(/\s+/)[1]);
    expect(listen).toContain(`0100007F:${vm.sshPort.toString(16).toUpperCase().padStart(4, '0')}`);
    expect(listen).not.toContain(`00000000:${vm.sshPort.toString(16).toUpperCase().padStart(4, '0')}`);
  });

  it('refuses a guest whose host key is not the pinned one', async () => {
    const wrong = newEd25519Key();
    const client = readFileSync(vm.state.clientKeyFile, 'utf8');
    await expect(
      SshSession.connect({
        host: '127.0.0.1',
        port: vm.sshPort,
        username: 'root',
        privateKey: client,
        hostKeyBlob: wrong.publicBlob,
      }),
    ).rejects.toBeInstanceOf(HostKeyMismatchError);
  });

  it('refuses a client key the guest was not given', async () => {
    const stranger = opensshPrivateKey(newEd25519Key());
    await expect(
      SshSession.connect({
        host: '127.0.0.1',
        port: vm.sshPort,
        username: 'root',
        privateKey: stranger,
        hostKeyBlob: Buffer.from(vm.state.hostKeyBlob, 'base64'),
      }),
    ).rejects.toThrow(/authentication/i);
  });

  it('keeps the per-boot keys out of the image and its snapshots, and in a private folder', async () => {
    // The keys went over the secrets channel: the guest has them (the pinned login proved the host key),
    // QEMU boots the cached initrd itself, and no file of the cache entry holds either key, the saved guest
    // included (it was saved while its init waited for them). The initrd is stored uncompressed and the
    // saved guest's memory raw, so a key in them would be found.
    const hostPub = Buffer.from(vm.state.hostKeyBlob, 'base64').subarray(-32);
    const authorized = (await vm.exec('cat /root/.ssh/authorized_keys')).stdout;
    const clientPub = Buffer.from(authorized.split(' ')[1]!, 'base64').subarray(-32);
    expect(clientPub.length).toBe(32);
    const argv = JSON.parse(readFileSync(join(vm.dir, 'qemu.argv.json'), 'utf8')) as string[];
    expect(argv[argv.indexOf('-initrd') + 1]).toBe(image.initrd);
    expect(existsSync(join(vm.dir, 'initrd.img'))).toBe(false);
    const entry = readdirSync(image.dir, { recursive: true, encoding: 'utf8' }).map((f) =>
      join(image.dir, f),
    );
    expect(entry).toContain(image.initrd);
    expect(
      entry.some((f) => f.endsWith('.vmstate')),
      'a saved guest in the cache entry',
    ).toBe(true);
    for (const f of entry.filter((f) => statSync(f).isFile())) {
      const bytes = readFileSync(f);
      expect(bytes.includes(hostPub), `${f} holds the guest's host key`).toBe(false);
      expect(bytes.includes(clientPub), `${f} holds the client's key`).toBe(false);
    }
    expect((statSync(vm.dir).mode & 0o777).toString(8)).toBe('700');
    expect((statSync(vm.state.clientKeyFile).mode & 0o777).toString(8)).toBe('600');
  });

  it("the guest's SSH server killed: a clear error, and the VM still stops cleanly", async () => {
    await vm.exec('kill $(pidof dropbear) >/dev/null 2>&1 &').catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500));
    await expect(vm.exec('true')).rejects.toThrow(/SSH server is not answering|ssh:/);
    const pid = vm.pid;
    const dir = vm.dir;
    await vm.stop();
    await vm.stop(); // idempotent
    expect(alive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});

describe.runIf(hasQemu)(`faults, each ending with no QEMU left${noQemu}`, () => {
  it('QEMU killed during a command: the command fails at once with the console tail', async () => {
    await using v = await new VmBuilder(image).withAccel('tcg').boot();
    const running = v.exec('sleep 60');
    setTimeout(() => process.kill(v.pid, 'SIGKILL'), 300);
    const t0 = performance.now();
    await expect(running).rejects.toThrow(/QEMU exited|not running|ssh/);
    expect(performance.now() - t0).toBeLessThan(30_000);
    await v.stop();
    expect(await qemuProcessesWith(v.state.name)).toEqual([]);
  });

  it('a clean stop lets the guest power itself off', async () => {
    const v = await new VmBuilder(image).withAccel('tcg').boot();
    // Hold the console log open: the run folder is removed once the VM is gone.
    const fh = await open(`${v.dir}/console.log`, 'r');
    try {
      await v.stop({ clean: true });
      const text = (await fh.readFile()).toString('utf8');
      expect(text).toMatch(/nslab: poweroff[\s\S]*reboot: Power down/);
      expect(alive(v.pid)).toBe(false);
    } finally {
      await fh.close();
    }
  });

  it('the forwarded port already taken: boots on another port', async () => {
    const server: Server = createServer();
    const port: number = await new Promise((r) =>
      server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)),
    );
    const log: string[] = [];
    try {
      await using v = await new VmBuilder(image)
        .withAccel('tcg')
        .withSshPort(port)
        .withLog((l) => log.push(l))
        .boot();
      expect(v.sshPort).not.toBe(port);
      expect(log.join('\n')).toMatch(new RegExp(`port ${port} was taken \\(the SSH forward\\); retrying`));
      expect((await v.exec('echo ok')).stdout).toBe('ok\n');
    } finally {
      server.close();
    }
  });

  it('a guest kernel panic stops the boot at once, with the last console lines', async () => {
    const t0 = performance.now();
    const error = await new VmBuilder(image)
      .withAccel('tcg')
      .withExtraCmdline('rdinit=/no-such-init')
      .boot()
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/panicked|QEMU exited/);
    expect((error as Error).message).toMatch(/--- last console lines ---\n[\s\S]*(Kernel panic|VFS|init)/);
    expect(performance.now() - t0).toBeLessThan(60_000);
    expect(await qemuProcessesWith('rdinit=/no-such-init')).toEqual([]);
  });

  it('an interrupt during boot stops QEMU and removes the run folder', async () => {
    const abort = new AbortController();
    const log: string[] = [];
    let name = '';
    const booting = new VmBuilder(image)
      .withAccel('tcg')
      .withSignal(abort.signal)
      .withLog((l) => {
        log.push(l);
        const m = /QEMU started as (nslab-\w+)/.exec(l);
        if (m) {
          name = m[1]!;
          setTimeout(() => abort.abort(), 300);
        }
      })
      .boot();
    await expect(booting).rejects.toThrow(/interrupted during boot/);
    expect(name).toMatch(/^nslab-/);
    expect(await qemuProcessesWith(name)).toEqual([]);
    expect(existsSync(join(runtimeDir(), `vm-${name.slice('nslab-'.length)}`))).toBe(false);
  });
});

describe.runIf(realQemu('aarch64'))(
  `the aarch64 guest (the Apple Silicon path), under TCG${skipNote(realQemu('aarch64'), 'qemu-system-aarch64 is not on PATH')}`,
  () => {
    it('boots and answers uname -m over SSH', async () => {
      const arm = await projectImage('aarch64');
      await using v = await new VmBuilder(arm).withAccel('tcg').boot();
      expect((await v.exec('uname -m')).stdout).toBe('aarch64\n');
      expect(v.state.accel).toBe('tcg');
    }, 180_000);
  },
);
