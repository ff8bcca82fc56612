// The seed's question on a Mac, asked on this Linux machine: `--target engine` against a Docker engine that
// runs in a VM (nslab engine up: dockerd in a QEMU VM under TCG, its socket forwarded over SSH), next to the
// native dockerd, merged into one report. Real VM, real dockerd, real docker CLI, real merge.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../harness/report/types.ts';
import { DEFAULT_SCENARIOS_DIR } from '../harness/cli/paths.ts';
import { qemuProcessesWith } from './helpers/image.ts';
import { realQemu } from './helpers/stand-in-qemu.ts';
import { findOnPath, skipNote } from './helpers/tools.ts';

const BIN = new URL('../bin/nslab.mjs', import.meta.url).pathname;
const docker = findOnPath('docker');
const runs = process.arch === 'x64' && realQemu('x86_64') !== undefined && docker !== undefined;
const why = !docker
  ? 'no docker CLI on PATH'
  : 'qemu-system-x86_64 is not on PATH (or this host is not x86_64)';
const nativeDockerd =
  docker !== undefined && spawnSync('docker', ['version'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
const REQUIRED = ['pid-ns', 'uts-ns', 'process-visibility'];

let dir: string;
let env: Record<string, string>;
let up: ResultPromise | undefined;
let upErr = '';
let dockerHost = '';
let qemuPid = 0;
let vmName = '';
let bootFacts: { qemuBinary?: { path: string; version: string }; image?: { digest: string } } = {};

/** `scenario all` over the three required scenarios, on the engine DOCKER_HOST names (or the default one). */
async function engineRun(name: string, host?: string) {
  const reportDir = join(dir, name);
  const r = await execa(
    'node',
    [
      BIN,
      'scenario',
      'all',
      '--target',
      'engine',
      '--json',
      '--scenarios-dir',
      join(dir, 'scenarios'),
      '--report-dir',
      reportDir,
    ],
    { reject: false, env: { ...env, ...(host ? { DOCKER_HOST: host } : {}) }, extendEnv: true },
  );
  return {
    report: JSON.parse(String(r.stdout)) as RunReport,
    stderr: String(r.stderr),
    exitCode: r.exitCode,
    file: join(reportDir, 'latest', 'report.json'),
  };
}

beforeAll(async () => {
  if (!runs) return;
  dir = mkdtempSync(join(tmpdir(), 'nslab-engine-vm-'));
  mkdirSync(join(dir, 'scenarios'));
  for (const s of REQUIRED)
    copyFileSync(join(DEFAULT_SCENARIOS_DIR, `${s}.yaml`), join(dir, 'scenarios', `${s}.yaml`));
  env = { NSLAB_RUNTIME_DIR: mkdtempSync(join(tmpdir(), 'nslab-rt-')), XDG_STATE_HOME: join(dir, 'state') };
  // Without DOCKER_HOST from this process (a CI job may set one), so that "native" means the default socket.
  delete process.env.DOCKER_HOST;
  up = execa('node', [BIN, 'engine', 'up', '--accel', 'tcg'], { cwd: dir, reject: false, env });
  up.stderr?.on('data', (d: Buffer) => (upErr += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    up!.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out);
    });
    void up!.then((r) => reject(new Error(`engine up exited ${r.exitCode}: ${upErr}`)));
  });
  dockerHost = line.trim().slice('DOCKER_HOST='.length);
  const state = JSON.parse(
    readFileSync(join(dirname(dockerHost.slice('unix://'.length)), 'state.json'), 'utf8'),
  );
  qemuPid = state.pid;
  vmName = state.name;
  bootFacts = { qemuBinary: state.qemuBinary, image: state.image };
}, 600_000);

afterAll(async () => {
  if (!runs) return;
  if (up && up.exitCode === null) {
    up.kill('SIGINT');
    await up;
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(env.NSLAB_RUNTIME_DIR!, { recursive: true, force: true });
}, 120_000);

describe.runIf(runs)(`--target engine on nslab's own VM engine${skipNote(runs, why)}`, () => {
  let vm: Awaited<ReturnType<typeof engineRun>>;
  beforeAll(async () => {
    vm = await engineRun('vm', dockerHost);
  }, 600_000);

  it('passes pid-ns, uts-ns and process-visibility as containers of the VM engine', () => {
    const t = vm.report.targets[0]!;
    expect(t.status, `${vm.stderr}\n${t.detail ?? ''}`).toBe('ready');
    for (const name of REQUIRED) {
      const s = t.scenarios.find((x) => x.name === name);
      expect(
        s?.status,
        `${name}: ${JSON.stringify(s?.expectations?.filter((e) => !e.ok) ?? s?.detail)}`,
      ).toBe('pass');
    }
    expect(vm.exitCode).toBe(0);
  });

  it("names nslab's engine VM, with the evidence, and sees the outside in the VM", () => {
    const t = vm.report.targets[0]!;
    expect(t.engine).toMatchObject({ backend: 'nslab-engine-vm', host: dockerHost, pidHost: true });
    expect(t.engine?.operatingSystem).toMatch(/^nslab engine VM/);
    expect(t.observer).toBe('vm');
    expect(vm.report.view.targets[0]!.layered).toBe(true);
  });

  it("the container's kernel is the VM's and not this host's; its PID outside is a PID in the VM", () => {
    const o = vm.report.targets[0]!.scenarios.find((s) => s.name === 'pid-ns')!.observations!;
    expect(o.inside.pid).toBe(1);
    expect(o.inside.kernel).toEqual(o.outside.kernel);
    expect(o.outside.kernel?.release).toMatch(/-cloud-amd64$/);
    expect(o.outside.kernel?.release).not.toBe(os.release());
    expect(o.outside.pid).toBeGreaterThan(1);
    expect(o.outside.parents?.[1]?.comm).toBe('containerd-shim');
    // A PID of the VM's, not of this host: no process of this host has the container's NSpid chain there.
    expect(o.outside.nspid).toEqual([o.outside.pid, 1]);
    const v = vm.report.view.targets[0]!;
    expect(v.sameKernelAsObserver).toBe(true);
    expect(v.sameKernelAsHost).toBe(false);
    expect(v.answer).toBe("the container runs on the engine VM's kernel, not the host's");
  });

  it("the VM's state.json carries the boot's facts (QEMU binary and version, image), asked once at boot", () => {
    expect(bootFacts.qemuBinary?.path).toMatch(/qemu-system-x86_64$/);
    expect(bootFacts.qemuBinary?.version).toMatch(/^QEMU emulator version \d/);
    expect(bootFacts.image?.digest).toMatch(/^[0-9a-f]{32}$/);
  });

  it("names QEMU as the host's VM process: the PID in the engine VM's own state.json", async () => {
    const t = vm.report.targets[0]!;
    expect(t.host?.vmProcess).toMatchObject({ pid: qemuPid });
    expect(await qemuProcessesWith(vmName)).toEqual([qemuPid]);
    const chain = vm.report.view.targets[0]!.chain;
    expect(chain.map((l) => l.layer)).toEqual(['container', 'vm', 'host']);
    expect(chain[2]!.pid).toBe(qemuPid);
  });

  describe.runIf(nativeDockerd)(
    `next to the native dockerd, in one merged report${skipNote(nativeDockerd, 'no native Docker daemon answers `docker version`')}`,
    () => {
      let merged: RunReport;
      let native: Awaited<ReturnType<typeof engineRun>>;
      beforeAll(async () => {
        native = await engineRun('native');
        const out = join(dir, 'merged');
        const r = await execa('node', [BIN, 'report', 'merge', '--output', out, vm.file, native.file], {
          reject: false,
          env,
          extendEnv: true,
        });
        expect(r.exitCode, String(r.stderr)).toBe(0);
        merged = JSON.parse(readFileSync(join(out, 'latest', 'report.json'), 'utf8')) as RunReport;
      }, 300_000);

      it('the native engine passes too, on the host kernel', () => {
        const t = native.report.targets[0]!;
        expect(t.engine?.backend).toBe('native-linux');
        for (const name of REQUIRED) expect(t.scenarios.find((x) => x.name === name)?.status).toBe('pass');
        expect(native.report.view.targets[0]!.sameKernelAsHost).toBe(true);
      });

      it('puts both engines side by side: the VM engine on its own kernel, the native one on the host kernel', () => {
        const v = merged.view.targets;
        expect(v.map((t) => t.kind)).toEqual(['engine', 'engine']);
        expect(v.map((t) => t.layered)).toEqual([true, false]);
        expect(v.map((t) => t.sameKernelAsHost)).toEqual([false, true]);
        expect(v.map((t) => t.answer)).toEqual([
          "the container runs on the engine VM's kernel, not the host's",
          "the container runs on this host's kernel",
        ]);
        expect(new Set(v.map((t) => t.column)).size).toBe(2);
        const html = readFileSync(join(dir, 'merged', 'latest', 'report.html'), 'utf8');
        for (const t of v) expect(html).toContain(t.column.replaceAll("'", '&#39;'));
      });
    },
  );
});
