import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostArch } from '../harness/image/arch.ts';
import { projectImage } from './helpers/image.ts';
import { realQemu } from './helpers/stand-in-qemu.ts';
import { skipNote } from './helpers/tools.ts';

// The guest reaches nothing but its own SSH forward unless --guest-network says otherwise. Real servers on
// this host, a real guest (TCG: the same on every host) and busybox nc in it.
const BIN = new URL('../bin/nslab.mjs', import.meta.url).pathname;
const ARCH = hostArch();
const hasQemu = realQemu(ARCH) !== undefined;
let dir: string;
const env = () => ({ NSLAB_RUNTIME_DIR: join(dir, 'rt'), XDG_STATE_HOME: join(dir, 'state') });
const nslab = (args: string[]) => execa('node', [BIN, ...args], { reject: false, cwd: dir, env: env() });

/** A TCP server that answers "pong" and counts who connected. */
async function server(host: string): Promise<{ server: Server; port: number; seen: () => number }> {
  let seen = 0;
  const s = createServer((sock) => {
    seen++;
    sock.end('pong\n');
  });
  await new Promise<void>((resolve) => s.listen(0, host, resolve));
  return { server: s, port: (s.address() as AddressInfo).port, seen: () => seen };
}

/** One of this host's own addresses other than loopback: a guest must not reach it either. */
const otherAddress = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

/** What `nc` in the guest got from host:port (the reply, or nothing), over `nslab vm exec`. */
async function fromGuest(host: string, port: number): Promise<{ out: string; exitCode?: number }> {
  const r = await nslab([
    'vm',
    'exec',
    '--',
    'sh',
    '-c',
    `echo ping | nc -w 3 ${host} ${port}; echo "nc=$?"`,
  ]);
  return { out: String(r.stdout), exitCode: r.exitCode };
}

/** `scenario pid-ns` in a VM under TCG, its JSON report on stdout and its files under `reportDir`. */
const pidNsInVm = (reportDir: string, ...flags: string[]) =>
  nslab([
    'scenario',
    'pid-ns',
    '--target',
    'vm',
    '--accel',
    'tcg',
    '--json',
    '--report-dir',
    reportDir,
    ...flags,
  ]);

let loopback: Awaited<ReturnType<typeof server>>;
let anyAddress: Awaited<ReturnType<typeof server>>;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-guest-net-'));
  loopback = await server('127.0.0.1');
  anyAddress = await server('0.0.0.0');
  if (hasQemu) await projectImage(ARCH);
}, 300_000);
afterAll(async () => {
  await nslab(['vm', 'down']);
  loopback.server.close();
  anyAddress.server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.runIf(hasQemu)(
  `the guest's network${skipNote(hasQemu, `qemu-system-${ARCH} is not on PATH`)}`,
  () => {
    describe('by default, isolated', () => {
      let up: Awaited<ReturnType<typeof nslab>>;
      beforeAll(async () => {
        up = await nslab(['vm', 'up', '--accel', 'tcg']);
      }, 240_000);
      afterAll(() => nslab(['vm', 'down']));

      it('vm up says so', () => {
        expect(up.exitCode, String(up.stderr)).toBe(0);
        expect(String(up.stdout)).toContain('guest network isolated');
      });

      it('no way to the host’s loopback through the gateway; SSH still works', async () => {
        // SSH works: the command runs and reports nc's failure.
        const gateway = await fromGuest('10.0.2.2', loopback.port);
        expect(gateway.exitCode).toBe(0);
        expect(gateway.out).not.toContain('pong');
        expect(gateway.out).toMatch(/nc=[1-9]/);
        expect(loopback.seen()).toBe(0);
      }, 60_000);

      it.runIf(otherAddress)(
        `no way to the host’s other addresses (its first IPv4 one but loopback)${skipNote(otherAddress, 'this host has no IPv4 address but loopback')}`,
        async () => {
          const other = await fromGuest(otherAddress!, anyAddress.port);
          expect(other.exitCode).toBe(0);
          expect(other.out).not.toContain('pong');
          expect(other.out).toMatch(/nc=[1-9]/);
          expect(anyAddress.seen()).toBe(0);
        },
        60_000,
      );

      it('vm down stops it, and no server here was ever reached', async () => {
        expect((await nslab(['vm', 'down'])).exitCode).toBe(0);
        expect([loopback.seen(), anyAddress.seen()]).toEqual([0, 0]);
      });
    });

    it('with --guest-network: the same connection gets through', async () => {
      const up = await nslab(['vm', 'up', '--accel', 'tcg', '--guest-network']);
      expect(up.exitCode, String(up.stderr)).toBe(0);
      expect(String(up.stdout)).toContain('guest network open');
      const gateway = await fromGuest('10.0.2.2', loopback.port);
      expect(gateway.out).toContain('pong');
      expect(loopback.seen()).toBe(1);
      // That open VM is never taken for a run that did not ask for it, nor for vm up without the option.
      const run = await pidNsInVm('out-kept');
      expect(run.exitCode, String(run.stderr)).toBe(0);
      expect(JSON.parse(String(run.stdout)).targets[0].host).toMatchObject({ guestNetwork: 'isolated' });
      expect(JSON.parse(String(run.stdout)).targets[0].host.reusedVm).toBeUndefined();
      expect(String(run.stderr)).toMatch(/not reusing the kept VM nslab-\w+: its guest network is open/);
      const again = await nslab(['vm', 'up', '--accel', 'tcg']);
      expect(again.exitCode).toBe(3);
      expect(String(again.stderr)).toMatch(
        /a kept VM is running with another guest network: nslab-\w+ \(open; asked: isolated\)/,
      );
      expect((await nslab(['vm', 'down'])).exitCode).toBe(0);
    }, 240_000);

    it('the report says which policy the guest had, in JSON, HTML and Markdown', async () => {
      for (const [flags, policy, words] of [
        [[], 'isolated', 'isolated: the guest reaches nothing but its SSH forward'],
        [['--guest-network'], 'open', 'open: the guest reaches the host&#39;s loopback services'],
      ] as const) {
        const out = `out-${policy}`;
        const r = await pidNsInVm(out, ...flags);
        expect(r.exitCode, String(r.stderr)).toBe(0);
        expect(JSON.parse(String(r.stdout)).targets[0].host.guestNetwork).toBe(policy);
        const html = readFileSync(join(dir, out, 'latest', 'report.html'), 'utf8');
        expect(html).toContain(words);
        const md = readFileSync(join(dir, out, 'latest', 'summary.md'), 'utf8');
        expect(md).toMatch(new RegExp(`\\| guest network \\| ${policy}: `));
      }
    }, 240_000);
  },
);
