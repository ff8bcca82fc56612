import { interruptWhen } from './helpers/interrupt.ts';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipNote } from './helpers/tools.ts';
import { alive } from '../harness/util/process.ts';

const BIN = new URL('../bin/nslab.mjs', import.meta.url).pathname;
const isRoot = process.getuid?.() === 0;
let dir: string;

// A runtime folder of its own: a VM another run keeps in the user's folder would be reused otherwise.
const nslab = (args: string[]) =>
  execa('node', [BIN, ...args], { reject: false, cwd: dir, env: { NSLAB_RUNTIME_DIR: join(dir, 'run') } });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('nslab scenario', () => {
  it.runIf(isRoot)(
    `pid-ns --target native --json: JSON only on stdout, pass, PID 1 inside, another outside, exit 0${skipNote(isRoot, 'needs root')}`,
    async () => {
      const r = await nslab(['scenario', 'pid-ns', '--target', 'native', '--json', '--report-dir', 'out']);
      expect(r.exitCode).toBe(0);
      const report = JSON.parse(String(r.stdout));
      const result = report.targets[0].scenarios[0];
      expect(report.targets[0].kind).toBe('native');
      expect(result).toMatchObject({ name: 'pid-ns', status: 'pass' });
      expect(result.observations.inside.pid).toBe(1);
      expect(result.observations.outside.pid).not.toBe(1);
      expect(String(r.stderr)).toContain(`report.html`);
      const latest = readlinkSync(join(dir, 'out', 'latest'));
      expect(latest).toBe(report.runId);
      expect(JSON.parse(readFileSync(join(dir, 'out', latest, 'report.json'), 'utf8'))).toEqual(report);
    },
  );

  it.runIf(isRoot)(
    `without --json prints the comparison and the HTML path${skipNote(isRoot, 'needs root')}`,
    async () => {
      const r = await nslab(['scenario', 'pid-ns', '--report-dir', 'out']);
      expect(r.exitCode).toBe(0);
      expect(String(r.stdout)).toMatch(/PASS\s+pid-ns/);
      expect(String(r.stdout)).toMatch(/inside:\s+PID 1\s/);
      expect(String(r.stdout)).toMatch(/same kernel inside and outside: yes/);
      const path = /report: (.*report\.html)/.exec(String(r.stdout))?.[1];
      expect(path && existsSync(path)).toBe(true);
    },
  );

  it.runIf(isRoot)(
    `in a GitHub Actions job: summary.md appended to $GITHUB_STEP_SUMMARY, junit.xml beside the report${skipNote(isRoot, 'needs root')}`,
    async () => {
      const summary = join(dir, 'step-summary.md');
      writeFileSync(summary, '# earlier step\n');
      const r = await execa('node', [BIN, 'scenario', 'pid-ns', '--json', '--report-dir', 'gh'], {
        reject: false,
        cwd: dir,
        env: { NSLAB_RUNTIME_DIR: join(dir, 'run'), GITHUB_STEP_SUMMARY: summary },
      });
      expect(r.exitCode).toBe(0);
      const runId = JSON.parse(String(r.stdout)).runId;
      const text = readFileSync(summary, 'utf8');
      expect(text.startsWith('# earlier step\n')).toBe(true);
      expect(text.slice('# earlier step\n'.length)).toBe(
        readFileSync(join(dir, 'gh', runId, 'summary.md'), 'utf8'),
      );
      expect(text).toMatch(/1 passed/);
      expect(text).toMatch(/\| PID inside \| 1 \|/);
      expect(readFileSync(join(dir, 'gh', runId, 'junit.xml'), 'utf8')).toMatch(
        /<testcase [^>]*name="pid-ns"/,
      );
      // And reports/index.html lists the run, linking to its page.
      expect(readFileSync(join(dir, 'gh', 'index.html'), 'utf8')).toContain(`href="${runId}/report.html"`);
    },
  );

  it('an unknown scenario is a usage error naming the known ones (exit 2)', async () => {
    const r = await nslab(['scenario', 'pid-nss']);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toContain('no scenario named "pid-nss"');
    expect(String(r.stderr)).toContain('pid-ns');
  });

  it('an unknown --target value is exit 2 and quotes the value', async () => {
    const r = await nslab(['scenario', 'pid-ns', '--target', 'cloud']);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toMatch(/'cloud' is invalid.*native, vm, wsl, engine, all/);
  });

  it('a broken scenario file is exit 2 with file:line:column', async () => {
    const scenarios = join(dir, 'bad-scenarios');
    mkdirSync(scenarios, { recursive: true });
    writeFileSync(
      join(scenarios, 'bad.yaml'),
      'name: bad\ntitle: t\nquestion: q\nisolate:\n  namespaces: [pid, nope]\nobserve: {}\n',
    );
    const r = await nslab(['scenario', 'bad', '--scenarios-dir', scenarios]);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toContain(
      `${join(scenarios, 'bad.yaml')}:5:21: isolate.namespaces[1]: expected one of pid`,
    );
  });

  it('a target that cannot run here is exit 3 with what is missing', async () => {
    const r = await nslab(['scenario', 'pid-ns', '--target', 'vm', '--accel', 'hvf', '--report-dir', 'out']);
    expect(r.exitCode).toBe(3);
    expect(String(r.stdout + r.stderr)).toMatch(
      /--accel hvf is not usable here: hvf is not an accelerator of linux/,
    );
  });

  it.runIf(isRoot)(
    `Ctrl-C during a run: exit 130, the report is still written, nothing left running${skipNote(isRoot, 'needs root')}`,
    async () => {
      const nap = String(400 + Math.floor(Math.random() * 500)); // unique, so pgrep finds only this run's
      const scenarios = join(dir, 'slow-scenarios');
      mkdirSync(scenarios, { recursive: true });
      writeFileSync(
        join(scenarios, 'slow.yaml'),
        `name: slow\ntitle: t\nquestion: q\nisolate: { namespaces: [pid] }\nobserve:\n  inside: [pid, { name: nap, run: [sleep, "${nap}"] }]\n`,
      );
      const child = nslab([
        'scenario',
        'slow',
        '--scenarios-dir',
        scenarios,
        '--report-dir',
        'int',
        '--json',
      ]);
      interruptWhen(child, 'running slow', 300);
      const r = await child;
      expect(r.exitCode).toBe(130);
      const report = JSON.parse(readFileSync(join(dir, 'int', 'latest', 'report.json'), 'utf8'));
      expect(report.interrupted).toBe(true);
      const left = await execa('pgrep', ['-f', `sleep ${nap}`], { reject: false });
      expect(left.stdout).toBe('');
    },
  );
});

describe('scenario timeouts', () => {
  it.runIf(isRoot)(
    `a scenario that does not finish is stopped at --timeout: error "timeout", nothing left running${skipNote(isRoot, 'needs root')}`,
    async () => {
      const nap = String(1000 + Math.floor(Math.random() * 500));
      const scenarios = join(dir, 'hang-scenarios');
      mkdirSync(scenarios, { recursive: true });
      writeFileSync(
        join(scenarios, 'hang.yaml'),
        `name: hang\ntitle: t\nquestion: q\nisolate: { namespaces: [pid] }\nobserve:\n  inside: [pid, { name: nap, run: [sleep, "${nap}"] }]\n`,
      );
      const r = await nslab([
        'scenario',
        'hang',
        '--scenarios-dir',
        scenarios,
        '--timeout',
        '1',
        '--json',
        '--report-dir',
        'to',
      ]);
      expect(r.exitCode).toBe(1);
      const result = JSON.parse(String(r.stdout)).targets[0].scenarios[0];
      expect(result).toMatchObject({ status: 'error', reason: 'timeout' });
      expect(result.detail).toMatch(/did not finish within 1 s/);
      expect((await execa('pgrep', ['-f', `sleep ${nap}`], { reject: false })).stdout).toBe('');
    },
  );

  it.runIf(isRoot)(
    `without a PID namespace, the isolated process ends with the probe, and any child of it${skipNote(isRoot, 'needs root')}`,
    async () => {
      // With no PID namespace to take them down, the probe ends the isolated process and its children
      // itself. The inside waits on a FIFO (no child of its own); the outside records its children anyway.
      const scenarios = join(dir, 'children-scenarios');
      mkdirSync(scenarios, { recursive: true });
      writeFileSync(
        join(scenarios, 'kids.yaml'),
        `name: kids\ntitle: t\nquestion: q\nisolate: { namespaces: [uts] }\nobserve:\n  inside: [pid]\n  outside: [pid, { name: kids, run: [sh, -c, 'cat /proc/$NSLAB_PID/task/*/children'] }]\nexpect:\n  - { that: outside.run.kids.exit, equals: 0, why: w }\n`,
      );
      const r = await nslab([
        'scenario',
        'kids',
        '--scenarios-dir',
        scenarios,
        '--json',
        '--report-dir',
        'kids',
      ]);
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const outside = JSON.parse(String(r.stdout)).targets[0].scenarios[0].observations.outside;
      expect(outside.pid).toBeGreaterThan(1);
      const kids = String(outside.run.kids.output).split(/\s+/).filter(Boolean);
      // Killed: gone, or a zombie waiting for whoever reaps orphans here.
      for (const p of [outside.pid, ...kids.map(Number)])
        expect(alive(p), `process ${p} outlived the probe`).toBe(false);
    },
  );

  it('--timeout must be a positive number (exit 2)', async () => {
    const r = await nslab(['scenario', 'pid-ns', '--timeout', 'soon']);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toContain('--timeout "soon" is not a positive number of seconds');
  });
});

describe('nslab list and --help', () => {
  it('list: one line per scenario', async () => {
    const r = await nslab(['list']);
    expect(r.exitCode).toBe(0);
    expect(String(r.stdout)).toMatch(/^pid-ns\s+A process in a new PID namespace$/m);
  });

  it('scenario --help tells the options that exist', async () => {
    const r = await nslab(['scenario', '--help']);
    expect(r.exitCode).toBe(0);
    for (const option of [
      '--target',
      '--json',
      '--report-dir',
      '--scenarios-dir',
      '--keep',
      '--timeout',
      '--accel',
      '--arch',
      '--qemu',
      '--image',
    ])
      expect(String(r.stdout)).toContain(option);
  });

  it('--help lists the exit codes', async () => {
    const r = await nslab(['--help']);
    expect(String(r.stdout)).toMatch(/3\s+this machine cannot run what was asked/);
  });

  it('an unknown command is exit 2', async () => {
    const r = await nslab(['frobnicate']);
    expect(r.exitCode).toBe(2);
  });
});
