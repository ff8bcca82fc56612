// --target engine against the Docker engine the docker CLI talks to, here a native dockerd (started by
// .ci/start-dockerd in CI): the real CLI, real containers, the helper container's real --pid=host view.
// nslab's own VM-backed engine is in engine-vm-target.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../harness/report/types.ts';
import { findOnPath, skipNote } from './helpers/tools.ts';

const BIN = new URL('../bin/nslab.mjs', import.meta.url).pathname;
const base = mkdtempSync(join(tmpdir(), 'nslab-engine-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const dockerAnswers =
  findOnPath('docker') !== undefined &&
  spawnSync('docker', ['version'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
const REQUIRED = ['pid-ns', 'uts-ns', 'process-visibility'];

const nslab = (args: string[], env: Record<string, string> = {}) =>
  execa('node', [BIN, ...args], { reject: false, env, stripFinalNewline: false });

/** What this run's containers and volumes left in the engine (names nslab gives them). */
async function leftovers(): Promise<string[]> {
  const c = await execa('docker', ['ps', '-a', '--format', '{{.Names}}'], { reject: false });
  const v = await execa('docker', ['volume', 'ls', '--format', '{{.Name}}'], { reject: false });
  return [...c.stdout.split('\n'), ...v.stdout.split('\n')].filter((n) => /^nslab-[hiv]-/.test(n));
}

describe.runIf(dockerAnswers)(
  `--target engine on a native dockerd${skipNote(dockerAnswers, 'no Docker daemon answers `docker version`')}`,
  () => {
    let report: RunReport;
    let exitCode: number | undefined;
    let stderr: string;
    beforeAll(async () => {
      const r = await nslab([
        'scenario',
        'all',
        '--target',
        'engine',
        '--json',
        '--report-dir',
        join(base, 'native'),
      ]);
      exitCode = r.exitCode;
      stderr = String(r.stderr);
      report = JSON.parse(String(r.stdout)) as RunReport;
    }, 240_000);

    it('passes pid-ns, uts-ns and process-visibility as containers of the engine, with the docker runtime', () => {
      const t = report.targets[0]!;
      expect(t.kind, stderr).toBe('engine');
      expect(t.runtime?.name).toBe('docker');
      for (const name of REQUIRED) {
        const s = t.scenarios.find((x) => x.name === name);
        expect(s?.status, `${name}: ${JSON.stringify(s?.expectations?.filter((e) => !e.ok))}`).toBe('pass');
      }
      expect(exitCode === 0 || exitCode === 1).toBe(true);
    });

    it('names the backend a native Linux daemon, and the outside the host itself: no VM process to name', () => {
      const t = report.targets[0]!;
      expect(t.engine).toMatchObject({ backend: 'native-linux', pidHost: true });
      expect(t.engine?.serverVersion).toMatch(/^Docker Engine \d/);
      expect(t.observer).toBe('host');
      expect(t.host?.vmProcess).toEqual({ notVisible: "no VM: the engine runs on this host's own kernel" });
      const v = report.view.targets[0]!;
      expect(v.layered).toBe(false);
      expect(v.answer).toBe("the container runs on this host's kernel");
    });

    it("pid-ns: PID 1 inside, a host PID outside under containerd-shim, and the host's own kernel", () => {
      const o = report.targets[0]!.scenarios.find((s) => s.name === 'pid-ns')!.observations!;
      expect(o.inside.pid).toBe(1);
      expect(o.outside.pid).toBeGreaterThan(1);
      expect(o.outside.parents?.[1]?.comm).toBe('containerd-shim');
      expect(o.inside.kernel?.release).toBe(os.release());
      expect(report.view.targets[0]!.sameKernelAsHost).toBe(true);
    });

    it('leaves no helper, isolated container or volume behind', async () => {
      expect(await leftovers()).toEqual([]);
    });
  },
);

describe('--target engine, refused before anything runs', () => {
  it('a runtime the engine cannot use is a usage error (exit 2) naming the option and the value', async () => {
    const r = await nslab([
      'scenario',
      'pid-ns',
      '--target',
      'engine',
      '--runtime',
      'unshare',
      '--report-dir',
      join(base, 'usage'),
    ]);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toContain('--runtime unshare does not run on --target engine');
    expect(String(r.stderr)).toContain('use --runtime docker');
  });

  it('no engine answering the docker CLI is a named skip of every scenario, not a failure', async () => {
    const r = await nslab(
      ['scenario', 'pid-ns', '--target', 'engine', '--json', '--report-dir', join(base, 'none')],
      {
        DOCKER_HOST: `unix://${join(base, 'nobody.sock')}`,
      },
    );
    const t = (JSON.parse(String(r.stdout)) as RunReport).targets[0]!;
    expect(t.status).toBe('skip');
    expect(t.reason).toBe(findOnPath('docker') ? 'runtime-unavailable:docker' : 'tool-missing:docker');
    expect(t.scenarios[0]).toMatchObject({ status: 'skip', reason: t.reason });
    expect(r.exitCode).toBe(0);
  });
});
