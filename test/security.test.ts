// Security checks, run for real: the SSH forward is reachable from this host's loopback only, the per-boot
// keys live 0600 in a 0700 folder and are gone after the run, and no private key reaches any output.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostArch } from '../harness/image/arch.ts';
import { realQemu } from './helpers/stand-in-qemu.ts';
import { findOnPath, skipNote } from './helpers/tools.ts';

const BIN = new URL('../bin/nslab.mjs', import.meta.url).pathname;
const ARCH = hostArch();
const isRoot = process.getuid?.() === 0;
const canRun = realQemu(ARCH) !== undefined && isRoot && findOnPath('ip') !== undefined;
let dir: string;
let runtime: string;
const env = () => ({ NSLAB_RUNTIME_DIR: runtime, XDG_STATE_HOME: join(dir, 'state') });
const nslab = (args: string[]) => execa('node', [BIN, ...args], { reject: false, cwd: dir, env: env() });
const NETNS = `nsl${process.pid % 100000}`; // also the veth names' stem: at most 15 characters each
const sh = (script: string) => execa('sh', ['-c', script], { reject: false });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-sec-'));
  runtime = mkdtempSync(join(tmpdir(), 'nslab-sec-rt-'));
});
afterAll(async () => {
  if (canRun) await sh(`ip netns del ${NETNS} 2>/dev/null; ip link del ${NETNS}-h 2>/dev/null`);
  await nslab(['vm', 'down']);
  rmSync(dir, { recursive: true, force: true });
  rmSync(runtime, { recursive: true, force: true });
});

describe.runIf(canRun)(
  `a kept VM, seen as an attacker would${skipNote(canRun, 'needs root, QEMU and ip (iproute2)')}`,
  () => {
    it('its SSH forward answers on 127.0.0.1 only: not from a second network namespace (bound: 3 s)', async () => {
      const up = await nslab(['vm', 'up']);
      expect(up.exitCode, String(up.stderr)).toBe(0);
      const port = Number(/ssh on 127\.0\.0\.1:(\d+)/.exec(String(up.stdout))![1]);
      // A namespace wired to this host over a veth pair: it reaches the host at 10.213.0.1.
      const wired = await sh(
        [
          `ip netns add ${NETNS}`,
          `ip link add ${NETNS}-h type veth peer name ${NETNS}-n`,
          `ip link set ${NETNS}-n netns ${NETNS}`,
          `ip addr add 10.213.0.1/24 dev ${NETNS}-h`,
          `ip link set ${NETNS}-h up`,
          `ip -n ${NETNS} addr add 10.213.0.2/24 dev ${NETNS}-n`,
          `ip -n ${NETNS} link set ${NETNS}-n up`,
          `ip -n ${NETNS} link set lo up`,
        ].join(' && '),
      );
      expect(wired.exitCode, wired.stderr).toBe(0);
      const from = (port: number) =>
        execa('ip', ['netns', 'exec', NETNS, 'busybox', 'nc', '-w', '2', '10.213.0.1', String(port)], {
          reject: false,
          input: '',
          timeout: 3000,
        });
      // The control: a server on all addresses is reached from there, so a refusal below means something.
      const open = createServer((s) => s.end('SSH-2.0-control\r\n'));
      await new Promise<void>((r) => open.listen(0, '0.0.0.0', r));
      const control = await from((open.address() as { port: number }).port);
      open.close();
      expect(String(control.stdout)).toContain('SSH-2.0-control');
      const probe = await from(port);
      expect(String(probe.stdout)).not.toContain('SSH-2.0');
      // From this host's loopback it does answer.
      const local = await execa('busybox', ['nc', '-w', '2', '127.0.0.1', String(port)], {
        reject: false,
        input: '',
        timeout: 3000,
      });
      expect(String(local.stdout)).toContain('SSH-2.0');
    });

    it('its keys are 0600 in a 0700 folder; no private key is in any report, log or output; all gone after', async () => {
      const vmDir = join(
        runtime,
        readdirSync(runtime).find((d) => d.startsWith('vm-'))!,
      );
      expect(statSync(vmDir).mode & 0o777).toBe(0o700);
      const keyFile = join(vmDir, 'client_key');
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      // The private key's body (base64 lines joined) and every 32-byte window of it, in base64 and hex.
      const key = readFileSync(keyFile, 'utf8');
      const body = key
        .split('\n')
        .filter((l) => l && !l.startsWith('-----'))
        .join('');
      const raw = Buffer.from(body, 'base64');
      const needles = [body.slice(40, 100), raw.subarray(raw.length - 80, raw.length - 48).toString('hex')];
      const run = await nslab(['scenario', 'pid-ns', '--target', 'vm', '--json', '--report-dir', 'out']);
      const ex = await nslab(['vm', 'exec', '--', 'sh', '-c', 'exit 3']);
      const outputs = [run.stdout, run.stderr, ex.stdout, ex.stderr].map(String);
      const files = readdirSync(join(dir, 'out'), { recursive: true, encoding: 'utf8' })
        .map((f) => join(dir, 'out', f))
        .filter((f) => statSync(f).isFile());
      expect(files.some((f) => f.endsWith('report.html'))).toBe(true);
      const texts = [...outputs, ...files.map((f) => readFileSync(f, 'latin1'))];
      texts.push(readFileSync(join(vmDir, 'console.log'), 'latin1'));
      for (const n of needles) for (const t of texts) expect(t.includes(n)).toBe(false);
      // Stopped, the VM takes its folder, and the keys in it, along.
      expect((await nslab(['vm', 'down'])).exitCode).toBe(0);
      expect(existsSync(vmDir)).toBe(false);
      expect(readdirSync(runtime).filter((d) => d.startsWith('vm-'))).toEqual([]);
    });
  },
);
