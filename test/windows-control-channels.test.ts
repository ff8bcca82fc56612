// Windows' control channels, run here: QMP and the secrets port on TCP 127.0.0.1, as a Windows host has
// them (no Unix sockets that Node could use there), served by a real QEMU with TLS-PSK under a per-boot
// key. The platform is Linux's with Windows' channel choice; everything else is the real boot under TCG.
// The QEMU is 10.0 from bookworm-backports: nslab needs 8.2 or newer on Windows, and Debian 12's 7.2
// answers no QMP command over TLS (the last case shows it).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execa } from 'execa';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostArch } from '../harness/image/arch.ts';
import { hostPlatform, platformFor } from '../harness/platform/index.ts';
import { qmpCommand } from '../harness/vm/qmp.ts';
import { tlsPskOptions, writePskFile } from '../harness/vm/control-channel.ts';
import { freePort } from '../harness/vm/port.ts';
import { backportsQemu } from './helpers/backports-qemu.ts';
import { VmBuilder } from '../harness/vm/vm.ts';
import { projectImage, qemuProcessesWith } from './helpers/image.ts';
import { realQemu } from './helpers/stand-in-qemu.ts';
import { skipNote } from './helpers/tools.ts';

const ARCH = hostArch();
const found =
  ARCH === 'x86_64' ? await backportsQemu() : { reason: 'bookworm-backports QEMU is for x86_64 only' };
const qemu = 'qemu' in found ? found.qemu : undefined;
const skip = 'reason' in found ? found.reason : '';
const windowsChannels = { ...hostPlatform, control: platformFor('win32').control };

/** Everything a plain TCP client gets from a port within `ms`: what another local user would see. */
function plainRead(port: number, send: string, ms = 1500): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const s = connect(port, '127.0.0.1', () => s.write(send));
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
    setTimeout(() => {
      s.destroy();
      resolve(got);
    }, ms);
  });
}

/** A TLS-PSK handshake with a key of the caller's: resolves 'connected' or the error. */
function tlsWith(port: number, psk: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = tlsConnect(tlsPskOptions(port, psk));
    s.once('secureConnect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e) => resolve(e.message));
  });
}

describe.runIf(qemu)(
  `Windows' control channels (TCP on 127.0.0.1, TLS-PSK), with QEMU 10 here${skipNote(qemu, skip)}`,
  () => {
    it('the boot hands its keys over TLS; QMP and the secrets port answer nobody without the key', async () => {
      const image = await projectImage(ARCH);
      await using vm = await new VmBuilder(image)
        .withAccel('tcg')
        .withSnapshots(false)
        .withPlatform(windowsChannels)
        .withQemu(qemu)
        .boot();
      // The keys went over the TLS secrets port: SSH with them works.
      expect((await vm.exec('echo over-tls')).stdout).toBe('over-tls\n');
      const qmp = vm.state.qmp;
      if (!('port' in qmp)) throw new Error(`expected a TCP QMP address, got ${JSON.stringify(qmp)}`);
      expect(qmp.pskDir).toBe(vm.dir);
      // nslab itself speaks QMP over TLS.
      expect(await qmpCommand(qmp, 'query-status')).toMatchObject({ status: 'running' });
      // A plain TCP client, as another local user would connect: no QMP greeting, no command runs.
      const plain = await plainRead(qmp.port, '{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n');
      expect(plain).not.toContain('QMP');
      // A TLS client with a key of its own: refused in the handshake.
      expect(await tlsWith(qmp.port, Buffer.alloc(32, 7))).not.toBe('connected');
      // With the boot's key (the file in the private run folder) it connects.
      const key = readFileSync(join(vm.dir, 'keys.psk'), 'utf8').trim().split(':')[1]!;
      expect(await tlsWith(qmp.port, Buffer.from(key, 'hex'))).toBe('connected');
      // The plain client's quit did nothing: the guest still answers.
      expect((await vm.exec('echo still-here')).stdout).toBe('still-here\n');
      const argv = JSON.parse(readFileSync(join(vm.dir, 'qemu.argv.json'), 'utf8')) as string[];
      expect(argv).toContain(`tls-creds-psk,id=nslab-tls,endpoint=server,dir=${vm.dir}`);
      expect(argv.find((a) => a.startsWith('socket,id=secrets,host=127.0.0.1,'))).toMatch(
        /,tls-creds=nslab-tls$/,
      );
    }, 180_000);

    it.runIf(realQemu(ARCH))(
      `why 8.2 is the floor: Debian 12's QEMU 7.2 greets over TLS, then answers no command${skipNote(realQemu(ARCH), `qemu-system-${ARCH} is not on PATH`)}`,
      async () => {
        const dir = mkdtempSync(join(tmpdir(), 'nslab-tls72-'));
        try {
          await writePskFile(dir);
          const port = await freePort();
          const q = execa(realQemu(ARCH)!, [
          '-nodefaults', '-display', 'none', '-S', '-machine', 'q35,accel=tcg',
          '-object', `tls-creds-psk,id=nslab-tls,endpoint=server,dir=${dir}`,
          '-qmp', `tcp:127.0.0.1:${port},server=on,wait=off,tls-creds=nslab-tls`,
        ], { reject: false }); // prettier-ignore
          try {
            await expect
              .poll(
                () => qmpCommand({ port, pskDir: dir }, 'query-status', 3000).catch((e: Error) => e.message),
                {
                  timeout: 10_000,
                },
              )
              .toBe('QMP query-status: no answer in 3000 ms');
          } finally {
            q.kill('SIGKILL');
            await q;
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
      30_000,
    );

    it('leaves no QEMU behind', async () => {
      expect(await qemuProcessesWith('nslab-tls')).toEqual([]);
    });
  },
);
