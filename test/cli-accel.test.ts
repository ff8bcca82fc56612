import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectImage, qemuProcessesWith } from './helpers/image.ts';
import { ABORT_WORDS, realQemu, standInQemu, type StandInMode } from './helpers/stand-in-qemu.ts';
import { hostArch } from '../harness/image/arch.ts';
import { cpuModel } from '../harness/vm/accel.ts';
import { skipNote } from './helpers/tools.ts';
import { interruptWhen } from './helpers/interrupt.ts';

// --accel auto on a host whose /dev/kvm opens but cannot run the guest. That host exists only sometimes, so
// it is reproduced everywhere: a stand-in file as the KVM device (NSLAB_KVM_DEVICE) and stand-in QEMUs that
// fail the way such hosts fail when asked for kvm, and are the real QEMU under tcg.
const BIN = new URL('../bin/nslab.mjs', import.meta.url).pathname;
const ARCH = hostArch();
const canRun = realQemu(ARCH) !== undefined;
const ABORT = `QEMU aborted: ${ABORT_WORDS[ARCH]}`;
const MACHINE = ARCH === 'x86_64' ? 'q35' : 'virt';
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-accel-'));
  writeFileSync(join(dir, 'kvm'), '');
  if (canRun) await projectImage(ARCH);
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh host memory, runtime folder and stand-in QEMU for one case. */
function host(mode: StandInMode, options: { unwritableState?: boolean } = {}) {
  const base = mkdtempSync(join(dir, `${mode}-`));
  const runtime = join(base, 'run');
  // A state "folder" that is a file: nothing can be written under it.
  if (options.unwritableState) writeFileSync(join(base, 'state'), '');
  const env = {
    NSLAB_KVM_DEVICE: join(dir, 'kvm'),
    XDG_STATE_HOME: join(base, 'state'),
    NSLAB_RUNTIME_DIR: runtime,
  };
  const qemu = standInQemu(join(base, 'bin'), mode);
  const nslab = (args: string[]) =>
    execa('node', [BIN, ...args, '--qemu', qemu], { reject: false, cwd: base, env });
  const args = ['scenario', 'pid-ns', '--target', 'vm', '--json', '--report-dir', 'out'];
  const scenario = async (...extra: string[]) => {
    const r = await nslab([...args, ...extra]);
    return { ...r, report: String(r.stdout).startsWith('{') ? JSON.parse(String(r.stdout)) : undefined };
  };
  const verdicts = () =>
    JSON.parse(readFileSync(join(base, 'state', 'nslab', 'accel-verdicts.json'), 'utf8')).verdicts;
  /** Nothing left: no QEMU of this case, no VM folder (with keys) in its runtime folder. */
  const nothingLeft = async () => {
    expect(await qemuProcessesWith(runtime)).toEqual([]);
    expect(readdirSync(runtime).filter((d) => d.startsWith('vm-'))).toEqual([]);
  };
  const start = () => nslab(args);
  return { scenario, start, verdicts, nothingLeft };
}

const started = (stderr: unknown) => String(stderr).match(/QEMU started as/g)?.length ?? 0;

describe.runIf(canRun)(
  `--accel auto proves the hardware accelerator by use${skipNote(canRun, `qemu-system-${ARCH} is not on PATH`)}`,
  () => {
    it('QEMU aborts under kvm, naming it: the same run passes under tcg, says why, and it is settled', async () => {
      const h = host('abort');
      const first = await h.scenario();
      expect(first.exitCode, String(first.stderr)).toBe(0);
      const t = first.report.targets[0];
      expect(t.host).toMatchObject({
        accelerator: 'tcg',
        acceleratorReason: `kvm failed: ${ABORT}`,
        acceleratorFailed: { accelerator: 'kvm', message: ABORT },
      });
      expect(t.scenarios[0].status).toBe('pass');
      expect(String(first.stderr)).toContain(`vm: kvm failed: ${ABORT}; booting again under tcg`);
      expect(started(first.stderr)).toBe(2);
      await h.nothingLeft();
      expect(h.verdicts()).toMatchObject([
        { ok: false, failure: ABORT, kind: 'exited', settled: true, key: { accel: 'kvm', cpu: 'host' } },
      ]);

      // The next run goes straight to tcg, says so in one line, and still reports what failed.
      const second = await h.scenario();
      expect(second.exitCode, String(second.stderr)).toBe(0);
      expect(started(second.stderr)).toBe(1);
      expect(String(second.stderr)).toMatch(
        new RegExp(`vm: using tcg: kvm failed on this host before \\(${escape(ABORT)}\\)`),
      );
      expect(second.report.targets[0].host).toMatchObject({
        accelerator: 'tcg',
        acceleratorFailed: { accelerator: 'kvm', message: ABORT },
      });
      await h.nothingLeft();
    });

    it('an explicit --accel kvm never falls back: exit 3, QEMU words, the hint, nothing left, nothing remembered', async () => {
      const h = host('abort');
      const r = await h.scenario('--accel', 'kvm');
      expect(r.exitCode).toBe(3);
      expect(String(r.stderr)).toContain(`--accel kvm does not work here: ${ABORT}`);
      expect(String(r.stderr)).toContain('--accel tcg');
      expect(started(r.stderr)).toBe(1);
      await h.nothingLeft();
      expect(() => h.verdicts()).toThrow(/ENOENT/);
    });

    it('a silent guest under kvm: abandoned after the silence bound, tcg boots; settled only the second time', async () => {
      const h = host('silent');
      const silence = 'no console output within 3 s: the guest hangs under this accelerator';
      const r = await h.scenario();
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const t = r.report.targets[0];
      expect(t.host.accelerator).toBe('tcg');
      expect(t.host.acceleratorFailed).toEqual({ accelerator: 'kvm', message: silence });
      // The timeline starts with the abandoned trial; the tcg boot comes after it.
      expect(t.phases.accelFailed).toBeGreaterThanOrEqual(3000);
      expect(t.phases.qemuSpawned).toBeGreaterThan(t.phases.accelFailed);
      await h.nothingLeft();
      // Silence may be a loaded host: one failure is remembered but not settled, so kvm is tried again.
      expect(h.verdicts()).toMatchObject([{ ok: false, kind: 'silent', failures: 1, settled: false }]);
      const again = await h.scenario();
      expect(again.exitCode, String(again.stderr)).toBe(0);
      expect(started(again.stderr)).toBe(2);
      expect(h.verdicts()).toMatchObject([{ ok: false, failures: 2, settled: true }]);
      const third = await h.scenario();
      expect(third.exitCode, String(third.stderr)).toBe(0);
      expect(started(third.stderr)).toBe(1);
      expect(String(third.stderr)).toContain(`vm: using tcg: kvm failed on this host before (${silence})`);
      await h.nothingLeft();
    }, 120_000);

    it('a guest that prints and then stalls under kvm: tcg boots the same run; settled only the second time', async () => {
      const h = host('stall');
      // The trial gets the boot timeout; TCG gets the same, enough for a cold boot on a loaded machine.
      const stalled =
        'the guest printed, then was not ready within 15 s ("nslab: waiting for secrets" on the console): it stalls under this accelerator';
      const r = await h.scenario('--boot-timeout', '15');
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const t = r.report.targets[0];
      expect(t.host.accelerator).toBe('tcg');
      expect(t.host.acceleratorFailed).toEqual({ accelerator: 'kvm', message: stalled });
      expect(t.scenarios[0].status).toBe('pass');
      expect(String(r.stderr)).toContain(`vm: kvm failed: ${stalled}; booting again under tcg`);
      expect(started(r.stderr)).toBe(2);
      await h.nothingLeft();
      // A stall may be load: remembered but not settled, so the next run tries kvm again.
      expect(h.verdicts()).toMatchObject([{ ok: false, kind: 'stalled', failures: 1, settled: false }]);
      const again = await h.scenario('--boot-timeout', '15');
      expect(again.exitCode, String(again.stderr)).toBe(0);
      expect(started(again.stderr)).toBe(2);
      expect(h.verdicts()).toMatchObject([{ ok: false, kind: 'stalled', failures: 2, settled: true }]);
      const third = await h.scenario('--boot-timeout', '15');
      expect(third.exitCode, String(third.stderr)).toBe(0);
      expect(started(third.stderr)).toBe(1);
      expect(String(third.stderr)).toContain(`vm: using tcg: kvm failed on this host before (${stalled})`);
      await h.nothingLeft();
    }, 180_000);

    it('Ctrl-C during the kvm trial: exit 130, the report written, no QEMU and no keys left', async () => {
      const h = host('silent');
      const child = h.start();
      interruptWhen(child, 'vm: QEMU started as');
      const r = await child;
      expect(r.exitCode).toBe(130);
      expect(JSON.parse(String(r.stdout)).interrupted).toBe(true);
      expect(started(r.stderr)).toBe(1);
      await h.nothingLeft();
    });

    it('a verdict that cannot be written costs nothing but the memory: the run passes and says so', async () => {
      const h = host('abort', { unwritableState: true });
      const r = await h.scenario();
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(r.report.targets[0].host.accelerator).toBe('tcg');
      expect(String(r.stderr)).toMatch(
        /vm: could not remember the accelerator verdict in \S+accel-verdicts\.json: /,
      );
      await h.nothingLeft();
    });

    it('--show-command prints the kvm trial and the tcg fallback, boots nothing; native is a usage error', async () => {
      const h = host('abort');
      const r = await h.scenario('--show-command');
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const lines = String(r.stdout).trimEnd().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toContain(` -machine ${MACHINE},accel=kvm`);
      expect(lines[0]).toContain(' -cpu host ');
      expect(lines[1]).toBe('# if kvm does not run the guest, nslab boots again under tcg (with a new id):');
      expect(lines[2]).toContain(` -machine ${MACHINE},accel=tcg`);
      expect(lines[2]).toContain(` -cpu ${cpuModel('tcg', ARCH)} `);
      expect(started(r.stderr)).toBe(0);
      await h.nothingLeft();
      const native = await h.scenario('--show-command', '--target', 'native');
      expect(native.exitCode).toBe(2);
      expect(String(native.stderr)).toContain(
        '--show-command shows the QEMU command line: use it with --target vm or all',
      );
    });

    it('a hardware accelerator that works is used, and remembered as working', async () => {
      const h = host('works');
      const first = await h.scenario();
      expect(first.exitCode, String(first.stderr)).toBe(0);
      expect(first.report.targets[0].host.accelerator).toBe('kvm');
      expect(first.report.targets[0].host.acceleratorFailed).toBeUndefined();
      expect(h.verdicts()).toMatchObject([{ ok: true, key: { accel: 'kvm' } }]);
      const second = await h.scenario();
      expect(second.exitCode, String(second.stderr)).toBe(0);
      expect(String(second.stderr)).toMatch(/vm: kvm works on this host \(remembered from /);
      expect(second.report.targets[0].host.accelerator).toBe('kvm');
      await h.nothingLeft();
    });
  },
);
