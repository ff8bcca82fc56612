import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectFile } from '../harness/project-root.ts';
import type { RunReport, TargetReport } from '../harness/report/types.ts';
import {
  COLUMN_OF,
  makeRealReports,
  makeStandIns,
  readJson,
  realInputSpecs,
  REAL_SCENARIOS,
  type RealInput,
  type StandIn,
} from './helpers/real-reports.ts';
import { validateReport } from './helpers/report-schema.ts';
import { skipNote } from './helpers/tools.ts';

// `nslab report merge` of real runs: this machine runs pid-ns and uts-ns once per target it has (native
// with unshare, runc and docker; the VM, x86_64 and aarch64, under TCG), each through the real CLI into a
// report.json of its own; a macOS and a Windows run, which cannot be made here, are hand-made from the
// real VM runs and named so. The merged report is checked against facts read here, not against the code
// that merged it: `uname -a`, os.release(), the image's manifest, the runtimes' own --version.

const BIN = projectFile('bin', 'nslab.mjs');
const SPECS = realInputSpecs();
const AVAILABLE = SPECS.filter((s) => !s.unavailable);
const MISSING = SPECS.filter((s) => s.unavailable);
const hasVm = AVAILABLE.some((s) => s.target === 'vm');

let dir: string;
let real: RealInput[];
let standIns: StandIn[];
/** Every input in the order given to `report merge`: the real runs, then the stand-ins. */
let inputs: { name: string; file: string; report: RunReport }[];
let merged: RunReport;
let mergeRun: { exitCode?: number; stderr: string; stdout: string };
let unameA: string;

// `report merge` takes two or more: a VM run brings a stand-in with it.
const anyInput = AVAILABLE.length >= 2 || hasVm;

beforeAll(async () => {
  if (!anyInput) return;
  dir = mkdtempSync(join(tmpdir(), 'nslab-report-merge-'));
  unameA = (await execa('uname', ['-a'])).stdout;
  real = await makeRealReports(dir, AVAILABLE);
  standIns = makeStandIns(dir, real);
  inputs = [...real, ...standIns];
  const r = await execa('node', [BIN, 'report', 'merge', ...inputs.map((i) => i.file), '-o', 'merged'], {
    reject: false,
    cwd: dir,
  });
  mergeRun = { exitCode: r.exitCode, stderr: String(r.stderr), stdout: String(r.stdout) };
  if (r.exitCode === 0) merged = readJson(join(dirname(mergeRun.stdout.trim()), 'report.json'));
}, 1_200_000); // five runs in a row, two of them VM boots under TCG (a first one builds the images)
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The README's rule, counted here: the second `linux/native` is `linux/native-2`, and so on. */
function expectedKeys(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((n) => {
    const base = COLUMN_OF[n]!.base;
    const k = (seen.get(base) ?? 0) + 1;
    seen.set(base, k);
    return k === 1 ? base : `${base}-${k}`;
  });
}
const kernelLine = (k: { name: string; release: string; version: string; machine: string }) =>
  `${k.name} ${k.release} ${k.version} ${k.machine}`;
const HOST_KERNEL = { name: os.type(), release: os.release(), version: os.version(), machine: os.machine() };
const only = (t: RunReport) => t.targets[0]! as TargetReport & { host: NonNullable<TargetReport['host']> };
const pidNs = (t: TargetReport) => t.scenarios.find((s) => s.name === 'pid-ns')!;
const firstLine = async (cmd: string, args: string[]) => (await execa(cmd, args)).stdout.split('\n')[0];

const merging = `merges real runs (${AVAILABLE.map((s) => s.name).join(', ')})${
  hasVm ? ' and hand-made stand-ins for what cannot run here (darwin vm, win32 vm)' : ''
}${MISSING.length ? `; not merged: ${MISSING.map((s) => `${s.name}: ${s.unavailable}`).join('; ')}` : ''}`;

describe(`nslab report merge ${merging}`, () => {
  describe.each(SPECS)('real input: $name', (spec) => {
    it.skipIf(spec.unavailable)(
      `a report.json of its own: valid, one ${spec.target} target, ${REAL_SCENARIOS.join(' and ')} pass${skipNote(!spec.unavailable, spec.unavailable ?? '')}`,
      () => {
        const input = real.find((r) => r.name === spec.name)!;
        expect(input.exitCode, input.stderr).toBe(0);
        // What --json printed is what it wrote.
        expect(readJson(input.file)).toEqual(input.report);
        const ok = validateReport(input.report);
        expect(validateReport.errors ?? []).toEqual([]);
        expect(ok).toBe(true);
        const t = only(input.report);
        expect(input.report.targets).toHaveLength(1);
        expect(t).toMatchObject({ kind: spec.target, status: 'ready', runtime: { name: spec.runtime } });
        expect(t.scenarios.map((s) => `${s.name}:${s.status}`)).toEqual(['pid-ns:pass', 'uts-ns:pass']);
        expect(input.report.summary).toEqual({ pass: 2, fail: 0, skip: 0, error: 0 });
        expect(input.report.host).toEqual({
          os: process.platform,
          arch: process.arch,
          uname: unameA,
          node: process.version,
        });
      },
    );
  });

  describe.runIf(hasVm)(`stand-ins (hand-made: cannot run here)${skipNote(hasVm, 'no VM ran here')}`, () => {
    it('darwin vm (hand-made: cannot run here): from the aarch64 run, an Apple Silicon host, hvf', () => {
      const s = standIns.find((x) => x.os === 'darwin');
      if (!s) return expect(real.some((r) => r.arch === 'aarch64')).toBe(false);
      expect(s.from).toBe('vm aarch64');
      const t = only(s.report);
      expect(s.report.host).toMatchObject({
        os: 'darwin',
        arch: 'arm64',
        uname: expect.stringMatching(/^Darwin /),
      });
      expect(t.host).toMatchObject({
        os: 'darwin',
        kernel: { name: 'Darwin', release: '24.6.0', machine: 'arm64' },
        model: 'Mac14,2',
        accelerator: 'hvf',
        controlChannel: 'unix-socket',
        guestNetwork: 'isolated',
      });
      expect(t.host.acceleratorFailed).toBeUndefined();
      expect(s.report.argv).not.toContain('--accel');
      expect(pidNs(t).observations!.outside.kernel!.machine).toBe('aarch64');
    });

    it('win32 vm (hand-made: cannot run here): from the x86_64 run, whpx, QMP under TLS-PSK', () => {
      const s = standIns.find((x) => x.os === 'win32');
      if (!s) return expect(real.some((r) => r.arch === 'x86_64')).toBe(false);
      expect(s.from).toBe('vm x86_64');
      const t = only(s.report);
      expect(s.report.host).toMatchObject({
        os: 'win32',
        arch: 'x64',
        uname: expect.stringMatching(/^Windows_NT /),
      });
      expect(t.host).toMatchObject({
        os: 'win32',
        kernel: { name: 'Windows_NT', release: '10.0.26100', machine: 'x86_64' },
        accelerator: 'whpx',
        controlChannel: 'tcp-tls-psk',
        guestNetwork: 'isolated',
      });
      expect(t.host.model).toBeUndefined();
      expect(pidNs(t).observations!.outside.kernel!.machine).toBe('x86_64');
    });

    it('each stand-in validates against report.schema.json, a distinct run an hour from its source', () => {
      for (const s of standIns) {
        const ok = validateReport(s.report);
        expect(validateReport.errors ?? [], s.name).toEqual([]);
        expect(ok).toBe(true);
        const source = real.find((r) => r.name === s.from)!.report;
        expect(s.report.runId).not.toBe(source.runId);
        expect(Math.abs(Date.parse(s.report.startedAt) - Date.parse(source.startedAt))).toBe(3_600_000);
        expect(s.report.summary).toEqual({ pass: 2, fail: 0, skip: 0, error: 0 });
      }
    });
  });

  describe.runIf(anyInput)(`the merged report${skipNote(anyInput, 'fewer than two inputs here')}`, () => {
    it('report merge exits 0 and says what it merged', () => {
      expect(mergeRun.exitCode, mergeRun.stderr).toBe(0);
      const n = inputs.length;
      expect(mergeRun.stderr).toContain(
        `merged ${n} runs, ${n} targets (${expectedKeys(inputs.map((i) => i.name)).join(', ')}): ${2 * n} passed, 0 failed, 0 skipped, 0 errors`,
      );
      expect(readlinkSync(join(dir, 'merged', 'latest'))).toBe(merged.runId);
    });

    it('validates against report.schema.json', () => {
      const ok = validateReport(merged);
      expect(validateReport.errors ?? []).toEqual([]);
      expect(ok).toBe(true);
    });

    it("has every input's target, in input order, one column each", () => {
      expect(merged.targets).toEqual(inputs.flatMap((i) => readJson(i.file).targets));
      expect(merged.view.targets.map((t) => t.key)).toEqual(expectedKeys(inputs.map((i) => i.name)));
      expect(merged.view.targets.map((t) => t.column)).toEqual(inputs.map((i) => COLUMN_OF[i.name]!.column));
      // On this machine, written out (docker joins the natives where a daemon answers).
      if (AVAILABLE.length === 5)
        expect(merged.view.targets.map((t) => t.key)).toEqual([
          'linux/native',
          'linux/native-2',
          'linux/native-3',
          'linux/vm',
          'linux/vm-2',
          'darwin/vm',
          'win32/vm',
        ]);
      else if (AVAILABLE.map((s) => s.name).join() === 'native unshare,native runc,vm x86_64,vm aarch64')
        expect(merged.view.targets.map((t) => t.key)).toEqual([
          'linux/native',
          'linux/native-2',
          'linux/vm',
          'linux/vm-2',
          'darwin/vm',
          'win32/vm',
        ]);
    });

    it("keeps each real target's host facts: this machine's uname -a and kernel (os.release())", async () => {
      for (const [i, input] of real.entries()) {
        const t = merged.targets[i]!;
        if (input.target === 'native') {
          expect(t).toMatchObject({ kind: 'native', os: 'linux', uname: unameA });
          expect(t.host).toBeUndefined();
          expect(merged.view.targets[i]!.host).toEqual({ os: 'linux', uname: unameA });
        } else {
          expect(t.kind).toBe('vm');
          expect(t.host).toMatchObject({ os: 'linux', uname: unameA, kernel: HOST_KERNEL });
          expect(merged.view.targets[i]!.host).toMatchObject({ os: 'linux', uname: unameA });
        }
      }
      // The hand-made hosts stay theirs.
      for (const [j, s] of standIns.entries())
        expect(merged.view.targets[real.length + j]!.host).toMatchObject({
          os: s.os,
          uname:
            s.os === 'darwin' ? expect.stringMatching(/^Darwin /) : expect.stringMatching(/^Windows_NT /),
        });
    });

    it('every scenario passed, PID 1 inside, and the container runs the kernel of the machine it is on', () => {
      for (const t of merged.targets) {
        expect(t.status).toBe('ready');
        expect(t.scenarios.map((s) => `${s.name}:${s.status}`)).toEqual(['pid-ns:pass', 'uts-ns:pass']);
      }
      for (const [i, v] of merged.view.targets.entries()) {
        const o = pidNs(merged.targets[i]!).observations!;
        expect(v.pidInside).toBe(1);
        expect(v.pidOutside).toBe(o.outside.pid);
        expect(v.pidOutside).toBeGreaterThan(1);
        expect(v.sameKernelAsObserver).toBe(true);
        // Natively the host's own kernel; in a VM the guest's, which is the host's only if they are one build.
        const hostKernel = merged.targets[i]!.host?.kernel ?? HOST_KERNEL;
        expect(v.sameKernelAsHost).toBe(kernelLine(o.inside.kernel!) === kernelLine(hostKernel));
        if (v.kind === 'native') expect(v.sameKernelAsHost).toBe(true);
        if (v.kind === 'vm') expect(v.qemuPid).toBe(merged.targets[i]!.host!.qemuPid);
      }
      expect(merged.view.sameKernelEverywhere).toBe(true);
    });

    it('the runtimes are the ones asked for, in their own --version words where they run here', async () => {
      for (const [i, input] of real.entries()) {
        const t = merged.targets[i]!;
        expect(t.runtime!.name).toBe(input.runtime);
        if (input.target === 'native' && input.runtime === 'unshare')
          expect(t.runtime!.version).toBe(await firstLine('unshare', ['--version']));
        if (input.target === 'native' && input.runtime === 'runc')
          expect(t.runtime!.version).toBe(await firstLine('runc', ['--version']));
        if (input.target === 'vm') expect(t.runtime!.version).toMatch(/^unshare from util-linux /);
      }
    });

    it.runIf(hasVm)(
      `the VM columns: x86_64 and aarch64 guests under TCG, guest network isolated, QMP on Unix sockets${skipNote(hasVm, 'no VM ran here')}`,
      () => {
        const vms = real.flatMap((input, i) =>
          input.target === 'vm' ? [{ input, t: merged.targets[i]! }] : [],
        );
        expect(vms.map((v) => v.input.arch)).toEqual(
          AVAILABLE.filter((s) => s.target === 'vm').map((s) => s.arch),
        );
        for (const { input, t } of vms) {
          expect(t.uname).toMatch(new RegExp(`^Linux nslab-vm .* ${input.arch} GNU/Linux$`));
          expect(t.host).toMatchObject({
            accelerator: 'tcg',
            acceleratorReason: 'asked for with --accel tcg',
            guestNetwork: 'isolated',
            controlChannel: 'unix-socket',
          });
          expect(t.host!.acceleratorFailed).toBeUndefined();
          expect(t.host!.qemu!.path).toMatch(new RegExp(`/qemu-system-${input.arch}$`));
          // The guest's kernel is the image's, as the image cache's manifest records it.
          const manifest = JSON.parse(
            readFileSync(projectFile('vm-images', t.host!.image!.digest, 'manifest.json'), 'utf8'),
          );
          expect(manifest.arch).toBe(input.arch);
          const outside = pidNs(t).observations!.outside.kernel!;
          expect(outside).toMatchObject({
            name: 'Linux',
            release: manifest.kernelVersion,
            machine: input.arch,
          });
        }
        const views = merged.view.targets.filter((v) => v.kind === 'vm');
        for (const v of views) {
          expect(v.network).toBe(
            'isolated: the guest reaches nothing but its SSH forward (QEMU user network, restrict=on)',
          );
          expect(v.control).toBe(
            v.host.os === 'win32'
              ? 'TCP on 127.0.0.1, TLS with a pre-shared key made for this boot: other local users cannot use them'
              : 'Unix sockets in a folder only this user can open (mode 0700)',
          );
        }
        for (const v of merged.view.targets.filter((x) => x.kind === 'native')) {
          expect(v.network).toBeUndefined();
          expect(v.control).toBeUndefined();
        }
      },
    );

    it('sums the summaries, spans the earliest start to the latest end, and names the runs merged', () => {
      const n = inputs.length;
      expect(merged.summary).toEqual({ pass: 2 * n, fail: 0, skip: 0, error: 0 });
      const starts = inputs.map((i) => i.report.startedAt).sort();
      const ends = inputs.map((i) => i.report.finishedAt).sort();
      expect(merged.startedAt).toBe(starts[0]);
      expect(merged.finishedAt).toBe(ends.at(-1));
      // The macOS stand-in started an hour before the real runs, the Windows one ends an hour after.
      const darwin = standIns.find((s) => s.os === 'darwin');
      const win32 = standIns.find((s) => s.os === 'win32');
      if (darwin) expect(merged.startedAt).toBe(darwin.report.startedAt);
      if (win32) expect(merged.finishedAt).toBe(win32.report.finishedAt);
      expect(merged.durationMs).toBe(Date.parse(ends.at(-1)!) - Date.parse(starts[0]!));
      expect(merged.mergedFrom).toEqual(inputs.map((i) => ({ runId: i.report.runId, host: i.report.host })));
      expect(merged).toMatchObject({
        host: { os: process.platform, arch: process.arch, uname: unameA, node: process.version },
        argv: ['report', 'merge', ...inputs.map((i) => i.file), '-o', 'merged'],
        interrupted: false,
      });
    });

    it('report.html has a column per input, in order', () => {
      const page = readFileSync(mergeRun.stdout.trim(), 'utf8');
      const heads = [
        ...page.slice(page.indexOf('<table class="headline">')).matchAll(/<th scope="col">([^<]+)</g),
      ].map((m) => m[1]);
      expect(heads.slice(0, inputs.length)).toEqual(inputs.map((i) => COLUMN_OF[i.name]!.column));
      for (const input of real.filter((r) => r.target === 'vm'))
        expect(page).toContain(`<code>${only(input.report).uname}</code>`);
    });
  });
});
