import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Arch } from '../../harness/image/arch.ts';
import { projectFile } from '../../harness/project-root.ts';
import type { RunReport } from '../../harness/report/types.ts';
import { buildView } from '../../harness/report/view.ts';
import { osName, type RuntimeName } from '../../harness/vocabulary.ts';
import { realQemu } from './stand-in-qemu.ts';
import { findOnPath } from './tools.ts';

// Reports of real runs, made here by the real CLI (`node bin/nslab.mjs scenario ... --json --report-dir`),
// one per target this machine has, for the tests that merge and render several runs. Beside them, reports
// that cannot be made here (a macOS host, a Windows host) are derived from a real run of this machine and
// named as the hand-made stand-ins they are.

const BIN = projectFile('bin', 'nslab.mjs');

/** The scenarios every real run runs: the shipped files, copied unchanged into a folder of their own. */
export const REAL_SCENARIOS = ['pid-ns', 'uts-ns'] as const;

/** One run of the CLI that makes one input: where, with which runtime and guest architecture. */
export interface RealInputSpec {
  /** How tests name it, e.g. `native unshare`, `vm aarch64`. */
  name: string;
  target: 'native' | 'vm';
  runtime: RuntimeName;
  /** The VM guest's architecture (always under TCG: `--accel tcg`, no KVM trial). */
  arch?: Arch;
  /** Why this machine cannot make it; undefined when it can. */
  unavailable?: string;
}

/** A Docker daemon that answers: none runs here by default; .ci/run starts one. */
function dockerAnswers(): boolean {
  if (!findOnPath('docker')) return false;
  return spawnSync('docker', ['version'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
}

const isRoot = process.getuid?.() === 0;
const unavailable = (ok: unknown, reason: string) => (ok ? undefined : reason);

/**
 * Every input a Linux machine can make, in merge order, each with the reason when this one cannot:
 * native (unshare, runc, docker), then the VM (x86_64, aarch64). Decided once per test file, synchronously,
 * so that test names can say which inputs run. Elsewhere none is made: there the host's own run would be
 * real, and the stand-ins, which stand for macOS and Windows, would be wrong.
 */
export function realInputSpecs(): RealInputSpec[] {
  specs ??= findSpecs();
  return specs.map((s) => ({ ...s }));
}
let specs: RealInputSpec[] | undefined;

function findSpecs(): RealInputSpec[] {
  const elsewhere = process.platform === 'linux' ? undefined : 'real inputs are made on a Linux host';
  const why = (ok: unknown, reason: string) => elsewhere ?? unavailable(ok, reason);
  return [
    {
      name: 'native unshare',
      target: 'native',
      runtime: 'unshare',
      unavailable: why(findOnPath('unshare'), 'unshare is not on PATH'),
    },
    {
      name: 'native runc',
      target: 'native',
      runtime: 'runc',
      unavailable: !findOnPath('runc')
        ? why(false, 'runc is not on PATH')
        : why(isRoot, 'runc on the native target needs root'),
    },
    {
      name: 'native docker',
      target: 'native',
      runtime: 'docker',
      unavailable: why(!elsewhere && dockerAnswers(), 'no Docker daemon answers `docker version`'),
    },
    ...(['x86_64', 'aarch64'] as const).map((arch) => ({
      name: `vm ${arch}`,
      target: 'vm' as const,
      runtime: 'unshare' as const,
      arch,
      unavailable: why(realQemu(arch), `qemu-system-${arch} is not on PATH`),
    })),
  ];
}

/** A real input: the report the CLI printed with --json, and the report.json it wrote. */
export interface RealInput extends RealInputSpec {
  /** The report.json the run wrote (a file, as `report merge` is given it). */
  file: string;
  report: RunReport;
  exitCode: number;
  stderr: string;
  seconds: number;
}

/** The CLI's words for a spec, after `scenario all`. */
export function cliArgs(spec: RealInputSpec, scenariosDir: string, reportDir: string): string[] {
  return [
    'scenario',
    'all',
    '--scenarios-dir',
    scenariosDir,
    '--target',
    spec.target,
    '--runtime',
    spec.runtime,
    ...(spec.arch ? ['--arch', spec.arch, '--accel', 'tcg'] : []),
    '--json',
    '--report-dir',
    reportDir,
  ];
}

/**
 * Runs every available spec, one after another (each VM boot takes the cores), in `dir`: its own runtime
 * folder and host memory, no GitHub step summary. A run that does not exit 0 or prints no report throws,
 * with its stderr.
 */
export async function makeRealReports(
  dir: string,
  specs: RealInputSpec[] = realInputSpecs().filter((s) => !s.unavailable),
): Promise<RealInput[]> {
  const scenarios = join(dir, 'scenarios');
  mkdirSync(scenarios, { recursive: true });
  for (const name of REAL_SCENARIOS)
    copyFileSync(projectFile('scenarios', `${name}.yaml`), join(scenarios, `${name}.yaml`));
  const runtime = join(dir, 'run');
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  const env = {
    NSLAB_RUNTIME_DIR: runtime,
    XDG_STATE_HOME: join(dir, 'state'),
    GITHUB_STEP_SUMMARY: '',
  };
  const inputs: RealInput[] = [];
  for (const spec of specs) {
    const reportDir = join(dir, spec.name.replace(/\W+/g, '-'));
    const started = performance.now();
    const r = await execa('node', [BIN, ...cliArgs(spec, scenarios, reportDir)], {
      reject: false,
      cwd: dir,
      env,
      timeout: 900_000,
    });
    const seconds = (performance.now() - started) / 1000;
    let report: RunReport;
    try {
      report = JSON.parse(String(r.stdout)) as RunReport;
    } catch {
      throw new Error(`${spec.name}: exit ${r.exitCode}, no report on stdout:\n${String(r.stderr)}`);
    }
    if (r.exitCode !== 0) throw new Error(`${spec.name}: exit ${r.exitCode}:\n${String(r.stderr)}`);
    inputs.push({
      ...spec,
      file: join(reportDir, report.runId, 'report.json'),
      report,
      exitCode: r.exitCode,
      stderr: String(r.stderr),
      seconds,
    });
  }
  return inputs;
}

/**
 * The headline column each input becomes, written out (not taken from the code that builds it): the key
 * `<host os>/<kind>` before a merge's suffix, and the heading.
 */
export const COLUMN_OF: Record<string, { base: string; column: string }> = {
  'native unshare': { base: 'linux/native', column: 'native Linux' },
  'native runc': { base: 'linux/native', column: 'native Linux' },
  'native docker': { base: 'linux/native', column: 'native Linux' },
  'vm x86_64': { base: 'linux/vm', column: 'VM on Linux (tcg)' },
  'vm aarch64': { base: 'linux/vm', column: 'VM on Linux (tcg)' },
  'darwin vm (hand-made: cannot run here)': { base: 'darwin/vm', column: 'VM on macOS (hvf)' },
  'win32 vm (hand-made: cannot run here)': { base: 'win32/vm', column: 'VM on Windows (whpx)' },
};

/** Reads a report.json as it is on disk, with no upgrade. */
export const readJson = (file: string): RunReport => JSON.parse(readFileSync(file, 'utf8')) as RunReport;

/** Hosts this machine cannot be: a stand-in's report is made from a real run here. */
export type StandInOs = 'darwin' | 'win32';

/** What a macOS (Apple Silicon) or Windows (x86_64) host would record, as Node and uname give it there. */
export const STAND_IN_HOSTS = {
  darwin: {
    guestArch: 'aarch64',
    shiftMs: -3_600_000,
    host: {
      os: 'darwin',
      arch: 'arm64',
      uname:
        'Darwin mba.local 24.6.0 Darwin Kernel Version 24.6.0: Mon Jul 14 11:30:51 PDT 2025; root:xnu-11417.140.69~1/RELEASE_ARM64_T8112 arm64',
    },
    kernel: {
      name: 'Darwin',
      release: '24.6.0',
      version:
        'Darwin Kernel Version 24.6.0: Mon Jul 14 11:30:51 PDT 2025; root:xnu-11417.140.69~1/RELEASE_ARM64_T8112',
      machine: 'arm64',
    },
    model: 'Mac14,2',
    qemuPid: 48213,
    accelerator: 'hvf',
    acceleratorReason: 'hvf is available (aarch64 guest on a aarch64 darwin host)',
    controlChannel: 'unix-socket',
    qemu: { path: '/opt/homebrew/bin/qemu-system-aarch64', version: 'QEMU emulator version 10.1.2' },
  },
  win32: {
    guestArch: 'x86_64',
    shiftMs: 3_600_000,
    host: {
      os: 'win32',
      arch: 'x64',
      uname: 'Windows_NT DESKTOP-NSLAB 10.0.26100 Windows 11 Pro x86_64',
    },
    kernel: { name: 'Windows_NT', release: '10.0.26100', version: 'Windows 11 Pro', machine: 'x86_64' },
    model: undefined,
    qemuPid: 7364,
    accelerator: 'whpx',
    acceleratorReason: 'whpx is available (x86_64 guest on a x86_64 win32 host)',
    controlChannel: 'tcp-tls-psk',
    qemu: {
      path: 'C:\\Program Files\\qemu\\qemu-system-x86_64.exe',
      version: 'QEMU emulator version 10.1.2 (v10.1.2-12000-g0e2f0c5a2d)',
    },
  },
} as const;

const shifted = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();
/** A run id for a start time: `YYYYMMDDTHHMMSSZ-` and the source's suffix (the hour apart keeps it unique). */
const runIdAt = (iso: string, suffix: string) =>
  `${iso.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${suffix}`;

/**
 * HAND-MADE: what a run on a macOS or Windows host would have recorded, which this machine cannot make.
 * Made from `source`, a real VM run of this machine (its VM target only), with the host's facts replaced:
 * the top-level host, the target's host (os, uname, kernel, model, QEMU's PID, path and version, the
 * accelerator and its reason in accel.ts's words, the control channel: Unix sockets on macOS, TLS-PSK over
 * TCP on Windows), no abandoned trial, `--accel tcg` dropped from argv; started an hour before (darwin) or
 * after (win32) the source, with a run id to match; the view built again. Everything else is the real
 * run's: the guest's uname and observations, the preflight, the runtime, the timings (TCG's, not hvf's
 * or whpx's), the boot, the image, the guest network.
 */
export function standInReport(source: RunReport, os: StandInOs): RunReport {
  const h = STAND_IN_HOSTS[os];
  const vm = source.targets.find((t) => t.kind === 'vm');
  if (!vm?.host) throw new Error(`a ${os} stand-in is made from a real VM run; ${source.runId} has none`);
  const {
    acceleratorFailed: _failed,
    model: _model,
    ...kept
  } = structuredClone(vm.host) as NonNullable<typeof vm.host>;
  const target = {
    ...structuredClone(vm),
    column: `VM on ${osName(os)} (${h.accelerator})`,
    host: {
      ...kept,
      uname: h.host.uname,
      os: h.host.os,
      kernel: { ...h.kernel },
      ...(h.model ? { model: h.model } : {}),
      qemuPid: h.qemuPid,
      accelerator: h.accelerator,
      acceleratorReason: h.acceleratorReason,
      controlChannel: h.controlChannel,
      qemu: { ...h.qemu },
    },
  };
  const startedAt = shifted(source.startedAt, h.shiftMs);
  const argv = source.argv.filter((a, i, all) => a !== '--accel' && all[i - 1] !== '--accel');
  const summary = { pass: 0, fail: 0, skip: 0, error: 0 };
  for (const s of target.scenarios) summary[s.status] += 1;
  return {
    ...structuredClone(source),
    runId: runIdAt(startedAt, source.runId.slice(-4)),
    startedAt,
    finishedAt: shifted(source.finishedAt, h.shiftMs),
    host: { ...h.host, node: source.host.node },
    argv,
    targets: [target],
    summary,
    view: buildView([target]),
  };
}

/** A stand-in, written where `report merge` can be given it. */
export interface StandIn {
  /** How tests name it: `darwin vm (hand-made: cannot run here)`. */
  name: string;
  os: StandInOs;
  /** The real input it was made from. */
  from: string;
  file: string;
  report: RunReport;
}

/**
 * The darwin stand-in from the aarch64 VM run (an Apple Silicon Mac boots an aarch64 guest), the win32 one
 * from the x86_64 VM run, each written to `dir/stand-in-<os>.json`; none for a host whose source did not run.
 */
export function makeStandIns(dir: string, real: readonly RealInput[]): StandIn[] {
  const out: StandIn[] = [];
  for (const os of ['darwin', 'win32'] as const) {
    const source = real.find((r) => r.target === 'vm' && r.arch === STAND_IN_HOSTS[os].guestArch);
    if (!source) continue;
    const report = standInReport(source.report, os);
    const file = join(dir, `stand-in-${os}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    out.push({ name: `${os} vm (hand-made: cannot run here)`, os, from: source.name, file, report });
  }
  return out;
}
