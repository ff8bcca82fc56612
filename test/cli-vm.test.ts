import {
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostArch } from '../harness/image/arch.ts';
import { loadScenarioDir } from '../harness/scenario/load.ts';
import { DEFAULT_SCENARIOS_DIR } from '../harness/cli/paths.ts';
import type { BuiltImage } from '../harness/image/manifest.ts';
import { projectImage, qemuProcessesWith } from './helpers/image.ts';
import { realQemu } from './helpers/stand-in-qemu.ts';
import { skipNote } from './helpers/tools.ts';
import { interruptWhen, stderrSays } from './helpers/interrupt.ts';

// The VM target end to end through the CLI: real image, real QEMU (whatever --accel auto finds), real SSH.
const BIN = new URL('../bin/nslab.mjs', import.meta.url).pathname;
const ARCH = hostArch();
const hasQemu = realQemu(ARCH) !== undefined;
const isRoot = process.getuid?.() === 0;
/** Whether this user can open the KVM device read-write (what --accel auto needs to try kvm at all). */
const kvmOpens = () => {
  try {
    closeSync(openSync(process.env.NSLAB_KVM_DEVICE || '/dev/kvm', constants.O_RDWR));
    return true;
  } catch {
    return false;
  }
};
let dir: string;
let runtime: string;
let image: BuiltImage;
// A private host memory (remembered accelerator verdicts) for this file, not the user's.
const env = () => ({ NSLAB_RUNTIME_DIR: runtime, XDG_STATE_HOME: join(dir, 'state') });
const nslab = (args: string[]) => execa('node', [BIN, ...args], { reject: false, cwd: dir, env: env() });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-cli-vm-'));
  runtime = mkdtempSync(join(tmpdir(), 'nslab-rt-'));
  if (hasQemu) image = await projectImage(ARCH); // warm the image cache once
}, 300_000);
afterAll(async () => {
  await nslab(['vm', 'down']);
  rmSync(dir, { recursive: true, force: true });
  rmSync(runtime, { recursive: true, force: true });
});

describe.runIf(hasQemu)(
  `nslab scenario --target vm${skipNote(hasQemu, `qemu-system-${ARCH} is not on PATH`)}`,
  () => {
    it('pid-ns in the VM: pass, the accelerator this host can run, three layers; no QEMU left', async () => {
      const r = await nslab(['scenario', 'pid-ns', '--target', 'vm', '--json', '--report-dir', 'out']);
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const report = JSON.parse(String(r.stdout));
      const t = report.targets[0];
      expect(t).toMatchObject({ kind: 'vm', status: 'ready', host: { os: 'linux' } });
      // --accel auto: kvm where it runs the guest; else tcg, having tried kvm only where /dev/kvm opens
      // (read-write, for this user: found here by opening it, not by nslab's own probe).
      const kvm = {
        accelerator: t.host.accelerator,
        reason: t.host.acceleratorReason,
        failed: t.host.acceleratorFailed,
        saidFailed: /vm: kvm failed: /.test(String(r.stderr)),
      };
      const noKvm = {
        accelerator: 'tcg',
        reason: expect.stringMatching(/\/dev\/kvm is missing or not read-write/),
        failed: undefined,
        saidFailed: false,
      };
      const kvmRan = { accelerator: 'kvm', reason: expect.any(String), failed: undefined, saidFailed: false };
      const kvmFailed = {
        accelerator: 'tcg',
        reason: expect.any(String),
        failed: { accelerator: 'kvm', message: expect.any(String) },
        saidFailed: true,
      };
      expect(kvm).toEqual(kvmOpens() ? expect.toBeOneOf([kvmRan, kvmFailed]) : noKvm);
      expect(t.host.qemuPid).toBeGreaterThan(1);
      expect(t.host.uname).toBe((await execa('uname', ['-a'])).stdout);
      expect(t.host.kernel).toEqual({
        name: os.type(),
        release: os.release(),
        version: os.version(),
        machine: os.machine(),
      });
      const s = t.scenarios[0];
      expect(s.status).toBe('pass');
      expect(s.observations.inside.pid).toBe(1);
      expect(s.observations.outside.pid).toBeGreaterThan(1);
      expect(s.observations.outside.uname).toMatch(/^Linux nslab-vm /);
      // The container shares the VM's kernel, and that is the image's kernel (whatever the host runs).
      expect(s.observations.inside.kernel).toEqual(s.observations.outside.kernel);
      expect(s.observations.outside.kernel.release).toBe(image.manifest.kernelVersion);
      expect(Object.keys(t.phases)).toEqual(
        expect.arrayContaining(['qemuSpawned', 'guestReady', 'firstCommand']),
      );
      expect(await qemuProcessesWith(runtime)).toEqual([]);
      const html = readFileSync(join(dir, 'out', 'latest', 'report.html'), 'utf8');
      // Three layers in the headline and the PID chain: the real host runs QEMU, the VM the process.
      expect(html).toContain('<th scope="col">VM on Linux (');
      expect(html).toMatch(
        new RegExp(`the VM&#39;s process on the real host</th><td><code>${t.host.qemuPid} qemu</code>`),
      );
      expect(html).toContain(`PID ${t.host.qemuPid} qemu</text>`);
      expect(html).toContain(`PID ${s.observations.outside.pid} `);
    });

    it('--target all: one report, both targets', async () => {
      const r = await nslab(['scenario', 'pid-ns', '--target', 'all', '--json', '--report-dir', 'out']);
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const report = JSON.parse(String(r.stdout));
      expect(report.targets.map((t: { kind: string }) => t.kind)).toEqual(['native', 'vm']);
      expect(report.summary).toMatchObject({ pass: 2, fail: 0, error: 0 });
      expect(await qemuProcessesWith(runtime)).toEqual([]);
    });

    // SIGTERM is what `timeout`, systemd, `docker stop` and CI cancellation send; Node's default would die
    // at once and leave QEMU running.
    it.each([
      ['Ctrl-C', 130, 'SIGINT'],
      ['SIGTERM', 143, 'SIGTERM'],
    ] as const)(
      '%s during boot: exit %i, the report written, no QEMU and no VM folder left',
      async (_, code, signal) => {
        const child = execa(
          'node',
          [BIN, 'scenario', 'pid-ns', '--target', 'vm', '--json', '--report-dir', `int-${signal}`],
          { reject: false, cwd: dir, env: env() },
        );
        interruptWhen(child, 'vm: QEMU started', 500, signal);
        const r = await child;
        expect(r.exitCode, String(r.stderr)).toBe(code);
        expect(String(r.stderr)).toContain(`interrupted (${signal})`);
        const report = JSON.parse(readFileSync(join(dir, `int-${signal}`, 'latest', 'report.json'), 'utf8'));
        expect(report.interrupted).toBe(true);
        expect(await qemuProcessesWith(runtime)).toEqual([]);
        expect(readdirSync(runtime).filter((f) => f.startsWith('vm-'))).toEqual([]);
      },
    );

    it('a run killed with SIGKILL leaves a QEMU that the next run finds and stops', async () => {
      const child = execa('node', [BIN, 'scenario', 'pid-ns', '--target', 'vm', '--report-dir', 'k'], {
        reject: false,
        cwd: dir,
        env: env(),
      });
      await stderrSays(child, 'ready in');
      child.kill('SIGKILL');
      await child;
      const orphans = await qemuProcessesWith(runtime);
      expect(orphans).toHaveLength(1);
      const next = await nslab(['scenario', 'pid-ns', '--target', 'vm', '--report-dir', 'k']);
      expect(next.exitCode).toBe(0);
      expect(String(next.stderr)).toMatch(
        /stopped a QEMU left behind by an earlier run: nslab-\w+ \(pid \d+\)/,
      );
      expect(await qemuProcessesWith(runtime)).toEqual([]);
    });

    it('vm up, exec, status, a scenario on the kept VM, then down', async () => {
      // --show-command boots nothing, and prints the command line the boot then really runs.
      const shown = await nslab(['vm', 'up', '--show-command']);
      expect(shown.exitCode, String(shown.stderr)).toBe(0);
      expect(await qemuProcessesWith(runtime)).toEqual([]);
      const commands = await Promise.all(
        String(shown.stdout)
          .split('\n')
          .filter((l) => l && !l.startsWith('#'))
          .map(async (line) =>
            (await execa('sh', ['-c', `set -- ${line}; printf '%s\\0' "$@"`])).stdout
              .split('\0')
              .slice(0, -1),
          ),
      );
      expect(commands[0]![0]).toBe(realQemu(ARCH));
      const up = await nslab(['vm', 'up']);
      expect(up.exitCode, String(up.stderr)).toBe(0);
      const vmDir = readdirSync(runtime).find((d) => d.startsWith('vm-'))!;
      const ran: string[] = JSON.parse(readFileSync(join(runtime, vmDir, 'qemu.argv.json'), 'utf8'));
      // Only the VM's id and the SSH port are picked anew by each boot.
      const same = (argv: string[]) =>
        argv.map((a) =>
          a.replace(/nslab-[0-9a-f]{8}|vm-[0-9a-f]{8}/g, 'ID').replace(/127\.0\.0\.1:\d+-/, 'PORT-'),
        );
      expect(commands.map(same)).toContainEqual(same(ran));
      expect(String(up.stdout)).toMatch(/VM nslab-\w+ is up .* ssh on 127\.0\.0\.1:\d+/);
      const ex = await nslab(['vm', 'exec', '--', 'sh', '-c', 'echo "$1"; exit 4', 'sh', "it's $(not) run"]);
      expect(ex.exitCode).toBe(4);
      expect(String(ex.stdout)).toBe("it's $(not) run");
      expect(String((await nslab(['vm', 'status'])).stdout)).toMatch(
        new RegExp(`nslab-\\w+ +pid \\d+ +${ARCH} +(kvm|tcg) .* kept`),
      );
      // Every shipped scenario, on both targets, the VM's the kept one; its report.html stays under 2 MB.
      const sc = await nslab(['scenario', 'all', '--target', 'all', '--json', '--report-dir', 'kept']);
      expect(sc.exitCode, String(sc.stderr)).toBe(0);
      const report = JSON.parse(String(sc.stdout));
      const vmTarget = report.targets.find((t: { kind: string }) => t.kind === 'vm');
      expect(vmTarget.host.reusedVm).toBe(true);
      const shipped = (await loadScenarioDir(DEFAULT_SCENARIOS_DIR)).map((x) => `${x.name}:pass`);
      expect(shipped.length).toBeGreaterThanOrEqual(3);
      // The VM's must all pass, and natively too; only natively, and not as root, may a host without user
      // namespaces skip the target, with its reason.
      type Target = {
        kind: string;
        status: string;
        reason?: string;
        scenarios: { name: string; status: string }[];
      };
      const outcome = (t: Target) => ({
        kind: t.kind,
        status: t.status,
        reason: t.reason,
        scenarios: t.scenarios.map((s) => `${s.name}:${s.status}`),
      });
      const allPass = (kind: string) => ({ kind, status: 'ready', reason: undefined, scenarios: shipped });
      const nativeSkipped = {
        kind: 'native',
        status: 'skip',
        reason: expect.stringMatching(/^(needs-root|userns-disabled|apparmor-userns)$/),
        scenarios: shipped.map((x) => x.replace(/:pass$/, ':skip')),
      };
      expect((report.targets as Target[]).map(outcome)).toEqual([
        isRoot ? allPass('native') : expect.toBeOneOf([allPass('native'), nativeSkipped]),
        allPass('vm'),
      ]);
      const html = statSync(join(dir, 'kept', report.runId, 'report.html')).size;
      expect(html).toBeGreaterThan(10_000);
      expect(html).toBeLessThan(2 * 1024 * 1024);
      // The same VM, --runtime runc: the scenarios written for it pass in runc containers (Debian's runc in
      // the image, --no-pivot under its initramfs root), the others skip with the reason; nothing is left.
      const rc = await nslab([
        'scenario',
        'all',
        '--target',
        'vm',
        '--runtime',
        'runc',
        '--json',
        '--report-dir',
        'kept',
      ]);
      expect(rc.exitCode, String(rc.stderr)).toBe(0);
      const runcTarget = JSON.parse(String(rc.stdout)).targets[0];
      expect(runcTarget.runtime).toMatchObject({
        name: 'runc',
        version: expect.stringMatching(/^runc version \d/),
      });
      const catalogue = await loadScenarioDir(DEFAULT_SCENARIOS_DIR);
      const forRunc = catalogue.filter((x) => x.runtimes.includes('runc')).map((x) => x.name);
      // The ones README names as written for every runtime.
      expect(forRunc).toEqual(
        expect.arrayContaining(['pid-ns', 'process-visibility', 'uts-ns', 'nsenter-exec', 'chroot-static']),
      );
      expect(forRunc.length).toBeLessThan(catalogue.length);
      expect(
        (runcTarget.scenarios as { name: string; status: string; reason?: string }[]).map(
          (s) => `${s.name}:${s.status}:${s.reason ?? ''}`,
        ),
      ).toEqual(
        catalogue.map((x) =>
          forRunc.includes(x.name) ? `${x.name}:pass:` : `${x.name}:skip:not-for-runtime:runc`,
        ),
      );
      const pidNs = runcTarget.scenarios.find((s: { name: string }) => s.name === 'pid-ns');
      expect(pidNs.observations.outside.runtime.statePid).toBe(pidNs.observations.outside.pid);
      expect(pidNs.observations.outside.parents[1].comm).toBe('runc');
      const left = await nslab(['vm', 'exec', '--', 'sh', '-c', 'ls /tmp /run/runc 2>/dev/null; true']);
      expect(String(left.stdout)).not.toMatch(/nslab-runc-root|nslab-\d/);
      expect(await qemuProcessesWith(runtime)).toHaveLength(1);
      const down = await nslab(['vm', 'down']);
      expect(String(down.stdout)).toMatch(/stopped nslab-/);
      expect(await qemuProcessesWith(runtime)).toEqual([]);
      expect((await nslab(['vm', 'exec', '--', 'true'])).exitCode).toBe(3);
    }, 240_000); // a boot, both targets' catalogues and the runc one: long under a loaded TCG host
  },
);

// The Apple Silicon guest path, proven by a real run rather than only by its argv: an aarch64 guest, booted
// the way any host boots the other architecture (TCG), answering pid-ns end to end.
const other = ARCH === 'x86_64' ? 'aarch64' : 'x86_64';
const hasOther = realQemu(other) !== undefined;
describe.runIf(hasOther)(
  `nslab scenario pid-ns --target vm --arch ${other}${skipNote(hasOther, `qemu-system-${other} is not on PATH`)}`,
  () => {
    it(`passes in an ${other} guest under TCG: three layers, the guest's own kernel`, async () => {
      const guest = await projectImage(other);
      // A runtime folder of its own: a VM another test left behind is not this test's concern.
      const own = mkdtempSync(join(tmpdir(), 'nslab-rt-'));
      const r = await execa(
        'node',
        [
          BIN,
          'scenario',
          'pid-ns',
          '--target',
          'vm',
          '--arch',
          other,
          '--json',
          '--report-dir',
          'other-arch',
        ],
        { reject: false, cwd: dir, env: { ...env(), NSLAB_RUNTIME_DIR: own } },
      );
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const t = JSON.parse(String(r.stdout)).targets[0];
      expect(t.host.accelerator).toBe('tcg');
      expect(t.host.acceleratorReason).toMatch(new RegExp(`cannot run an ${other} guest`));
      const s = t.scenarios[0];
      expect(s.status).toBe('pass');
      expect(s.observations.inside.pid).toBe(1);
      expect(s.observations.outside.kernel.machine).toBe(other);
      expect(s.observations.outside.kernel.release).toBe(guest.manifest.kernelVersion);
      expect(await qemuProcessesWith(own)).toEqual([]);
      rmSync(own, { recursive: true, force: true });
    }, 300_000);
  },
);
