import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectImage, qemuProcessesWith } from './helpers/image.ts';
import { realQemu, standInQemu, type StandInMode } from './helpers/stand-in-qemu.ts';
import { hostArch } from '../harness/image/arch.ts';
import { skipNote } from './helpers/tools.ts';

// --accel auto on a host whose /dev/kvm opens but cannot run the guest. That host exists only sometimes, so
// it is reproduced everywhere: a stand-in file as the KVM device (NSLAB_KVM_DEVICE) and stand-in QEMUs that
// fail the way such hosts fail when asked for kvm, and are the real QEMU under tcg.
const BIN = new URL('../bin/nslab.mjs', import.meta.url).pathname;
const canRun = realQemu() !== undefined && hostArch() === 'x86_64';
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-accel-'));
  writeFileSync(join(dir, 'kvm'), '');
  if (canRun) await projectImage('x86_64');
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh host memory, runtime folder and stand-in QEMU for one case. */
function host(mode: StandInMode) {
  const base = mkdtempSync(join(dir, `${mode}-`));
  const runtime = join(base, 'run');
  const env = {
    NSLAB_KVM_DEVICE: join(dir, 'kvm'),
    XDG_STATE_HOME: join(base, 'state'),
    NSLAB_RUNTIME_DIR: runtime,
  };
  const qemu = standInQemu(join(base, 'bin'), mode);
  const nslab = (args: string[]) =>
    execa('node', [BIN, ...args, '--qemu', qemu], { reject: false, cwd: base, env });
  const scenario = async (...extra: string[]) => {
    const r = await nslab([
      'scenario',
      'pid-ns',
      '--target',
      'vm',
      '--json',
      '--report-dir',
      'out',
      ...extra,
    ]);
    return { ...r, report: String(r.stdout).startsWith('{') ? JSON.parse(String(r.stdout)) : undefined };
  };
  const verdicts = () =>
    JSON.parse(readFileSync(join(base, 'state', 'nslab', 'accel-verdicts.json'), 'utf8')).verdicts;
  /** Nothing left: no QEMU of this case, no VM folder (with keys) in its runtime folder. */
  const nothingLeft = async () => {
    expect(await qemuProcessesWith(runtime)).toEqual([]);
    expect(readdirSync(runtime).filter((d) => d.startsWith('vm-'))).toEqual([]);
  };
  return { scenario, verdicts, nothingLeft };
}

const started = (stderr: unknown) => String(stderr).match(/QEMU started as/g)?.length ?? 0;

describe.runIf(canRun)(
  `--accel auto proves the hardware accelerator by use${skipNote(canRun, 'needs an x86_64 host with qemu-system-x86_64')}`,
  () => {
    it('QEMU aborts under kvm (MSR 0x10a): the same run passes under tcg, says why, remembers it', async () => {
      const h = host('abort');
      const first = await h.scenario();
      expect(first.exitCode, String(first.stderr)).toBe(0);
      const t = first.report.targets[0];
      expect(t.host).toMatchObject({
        accelerator: 'tcg',
        acceleratorReason: 'kvm failed: QEMU aborted: failed to set MSR 0x10a to 0x69',
        acceleratorFailed: { accelerator: 'kvm', message: 'QEMU aborted: failed to set MSR 0x10a to 0x69' },
      });
      expect(t.scenarios[0].status).toBe('pass');
      expect(String(first.stderr)).toContain(
        'vm: kvm failed: QEMU aborted: failed to set MSR 0x10a to 0x69; booting again under tcg',
      );
      expect(started(first.stderr)).toBe(2);
      await h.nothingLeft();
      expect(h.verdicts()).toMatchObject([
        {
          ok: false,
          failure: 'QEMU aborted: failed to set MSR 0x10a to 0x69',
          key: { accel: 'kvm', cpu: 'host' },
        },
      ]);

      // The next run goes straight to tcg, says so in one line, and still reports what failed.
      const second = await h.scenario();
      expect(second.exitCode, String(second.stderr)).toBe(0);
      expect(started(second.stderr)).toBe(1);
      expect(String(second.stderr)).toMatch(
        /vm: using tcg: kvm failed on this host before \(QEMU aborted: failed to set MSR 0x10a to 0x69\)/,
      );
      expect(second.report.targets[0].host).toMatchObject({
        accelerator: 'tcg',
        acceleratorFailed: { accelerator: 'kvm', message: 'QEMU aborted: failed to set MSR 0x10a to 0x69' },
      });
      await h.nothingLeft();
    });

    it('an explicit --accel kvm never falls back: exit 3, QEMU words, the hint, nothing left, nothing remembered', async () => {
      const h = host('abort');
      const r = await h.scenario('--accel', 'kvm');
      expect(r.exitCode).toBe(3);
      expect(String(r.stderr)).toContain(
        '--accel kvm does not work here: QEMU aborted: failed to set MSR 0x10a to 0x69',
      );
      expect(String(r.stderr)).toContain('--accel tcg');
      expect(started(r.stderr)).toBe(1);
      await h.nothingLeft();
      expect(() => h.verdicts()).toThrow(/ENOENT/);
    });

    it('a guest that prints nothing under kvm is abandoned after the silence bound and boots under tcg', async () => {
      const h = host('silent');
      const r = await h.scenario();
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const t = r.report.targets[0];
      expect(t.host.accelerator).toBe('tcg');
      expect(t.host.acceleratorFailed).toEqual({
        accelerator: 'kvm',
        message: 'no console output within 3 s: the guest hangs under this accelerator',
      });
      // The timeline starts with the abandoned trial; the tcg boot comes after it.
      expect(t.phases.accelFailed).toBeGreaterThanOrEqual(3000);
      expect(t.phases.qemuSpawned).toBeGreaterThan(t.phases.accelFailed);
      await h.nothingLeft();
      expect(h.verdicts()).toMatchObject([{ ok: false }]);
    });

    it('--show-command prints the kvm trial and the tcg fallback, boots nothing; native is a usage error', async () => {
      const h = host('abort');
      const r = await h.scenario('--show-command');
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const lines = String(r.stdout).trimEnd().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(/ -machine q35,accel=kvm -cpu host /);
      expect(lines[1]).toBe('# if kvm does not run the guest, nslab boots again under tcg (with a new id):');
      expect(lines[2]).toMatch(/ -machine q35,accel=tcg -cpu qemu64,\+rdrand /);
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
