import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { DEFAULT_SCENARIOS_DIR } from '../harness/cli/paths.ts';
import { createRuntime, type IsolateRequest, type Runtime } from '../harness/runtimes/index.ts';
import { loadScenarioDir, parseScenarioText } from '../harness/scenario/load.ts';
import { runScenario } from '../harness/scenario/run.ts';
import { parsePreflight, PREFLIGHT_SCRIPT } from '../harness/targets/preflight.ts';
import { NativeTarget, type NativeTargetOptions } from '../harness/targets/index.ts';
import { runAll } from '../harness/run/run.ts';
import { alive, sleep } from '../harness/util/process.ts';
import type { Namespace, RuntimeName } from '../harness/vocabulary.ts';
import { NOBODY } from './helpers/scenario-run.ts';
import { findOnPath, skipNote } from './helpers/tools.ts';

// The contract every runtime keeps, run for real on the native target: unshare (util-linux), runc (an OCI
// bundle of one static busybox) and docker (the daemon that .ci/run starts). A runtime that cannot run here
// skips with its own named reason, which the test shows.

const isRoot = process.getuid?.() === 0;
const scenarioText = (name: string) => readFileSync(join(DEFAULT_SCENARIOS_DIR, `${name}.yaml`), 'utf8');
const scenario = (name: string, text = scenarioText(name)) =>
  parseScenarioText(join(DEFAULT_SCENARIOS_DIR, `${name}.yaml`), text);

/** The target prepared, its preflight, and the runtime prepared on it (or the test skipped with the reason). */
async function prepare(ctx: TestContext | undefined, name: RuntimeName, options: NativeTargetOptions = {}) {
  const target = new NativeTarget(options);
  const { info, skip: targetSkip } = await target.prepare();
  if (targetSkip) ctx?.skip(`native target: ${targetSkip.reason}`);
  const preflight = parsePreflight((await target.runProbe(PREFLIGHT_SCRIPT, ['unshare'])).stdout);
  const runtime = createRuntime(name);
  const ready = await runtime.prepare(target, info, preflight);
  if (ready.skip && ctx) {
    await runtime.close();
    ctx.skip(`${name}: ${ready.skip.reason}: ${ready.skip.detail}`);
  }
  return { target, info, runtime, runtimeInfo: ready.info, skip: ready.skip, targetSkip };
}

const VERSION: Record<RuntimeName, RegExp> = {
  unshare: /^unshare from util-linux \d/,
  runc: /^runc version \d/,
  docker: /^Docker Engine \d/,
};
/** Who forks the isolated process, as the host's kernel names it (comm). */
const PARENT: Record<RuntimeName, string> = { unshare: 'unshare', runc: 'runc', docker: 'containerd-shim' };
/**
 * What the runtime's own records say the isolated process's host PID is: unshare keeps none (the probe reports
 * no runtime facts), runc's state.json does, and for docker also docker inspect.
 */
const BOOKKEEPING: Record<RuntimeName, (pid: number) => Record<string, number> | undefined> = {
  unshare: () => undefined,
  runc: (pid) => ({ statePid: pid }),
  docker: (pid) => ({ inspectPid: pid, statePid: pid }),
};
/** Where the runtime's state.json for a container is (unshare: none): runc's in this run's state root. */
const STATE_FILE: Record<RuntimeName, ((container: string) => unknown) | undefined> = {
  unshare: undefined,
  runc: (c) => expect.stringMatching(new RegExp(`/nslab-runc\\.\\w+/state/${c}/state\\.json$`)),
  // The daemon's runc, by the container's full id (README: /run/docker/runtime-runc/moby/ID/state.json).
  docker: () => expect.stringMatching(/^\/run\/docker\/runtime-runc\/moby\/[0-9a-f]{64}\/state\.json$/),
};

describe.each(['unshare', 'runc', 'docker'] as const)('the %s runtime on the native target', (name) => {
  let prepared: Awaited<ReturnType<typeof prepare>> | undefined;
  const ready = async (ctx: TestContext) => {
    prepared ??= await prepare(undefined, name);
    if (prepared.skip) ctx.skip(`${name}: ${prepared.skip.reason}: ${prepared.skip.detail}`);
    return prepared;
  };
  afterAll(async () => {
    await prepared?.runtime.close();
  });

  it('names itself and its own version line', async (ctx) => {
    const { runtimeInfo } = await ready(ctx);
    expect(runtimeInfo.name).toBe(name);
    expect(runtimeInfo.version).toMatch(VERSION[name]);
  });

  it(`pid-ns: PID 1 inside, a host PID outside, the parent is ${PARENT[name]}, one kernel`, async (ctx) => {
    const { target, info, runtime } = await ready(ctx);
    const r = await runScenario(scenario('pid-ns'), target, { runtime, info });
    expect(r.status, JSON.stringify(r.expectations?.filter((e) => !e.ok) ?? r.detail)).toBe('pass');
    const o = r.observations!;
    expect(o.inside.pid).toBe(1);
    expect(o.outside.nspid).toEqual([o.outside.pid, 1]);
    expect(o.outside.parents?.[1]?.comm).toBe(PARENT[name]);
    expect(o.inside.kernel).toEqual(o.outside.kernel);
    // The runtime's own bookkeeping names the same host process (unshare keeps none).
    const facts = o.outside.runtime;
    expect(o.outside.pid).toBeGreaterThan(1);
    expect(facts && { inspectPid: facts.inspectPid, statePid: facts.statePid }).toEqual(
      BOOKKEEPING[name](o.outside.pid!),
    );
  });

  it('process-visibility: the host lists the process with ps and stops and resumes it', async (ctx) => {
    const { target, info, runtime } = await ready(ctx);
    const r = await runScenario(scenario('process-visibility'), target, { runtime, info });
    expect(r.status, JSON.stringify(r.expectations?.filter((e) => !e.ok) ?? r.detail)).toBe('pass');
    expect(r.observations!.outside.run!.signal!.output).toMatch(/after SIGSTOP: T/);
  });

  /** The shipped scenarios written for this runtime, run as the CLI runs them (preflight, runtime, skips). */
  const catalogue = async () => {
    const mine = (await loadScenarioDir(DEFAULT_SCENARIOS_DIR)).filter((s) => s.runtimes.includes(name));
    expect(mine.map((s) => s.name)).toEqual(
      expect.arrayContaining(['pid-ns', 'process-visibility', 'uts-ns', 'nsenter-exec', 'chroot-static']),
    );
    const report = await runAll({ scenarios: mine, targets: [new NativeTarget()], runtime: name });
    const results = report.targets[0]!.scenarios;
    expect(results.map((r) => r.name)).toEqual(mine.map((s) => s.name));
    const outcome = (r: (typeof results)[number]) =>
      r.status === 'pass' || r.status === 'skip'
        ? `${r.name}: ${r.status}${r.reason ? ` ${r.reason}` : ''}`
        : `${r.name}: ${r.status} ${r.detail ?? JSON.stringify(r.expectations?.filter((e) => !e.ok))}`;
    return { names: mine.map((s) => s.name), outcomes: results.map(outcome) };
  };

  it.runIf(isRoot)(
    `as root, every shipped scenario written for it passes: none skipped${skipNote(isRoot, 'needs root (as another user, see the next test)')}`,
    async (ctx) => {
      await ready(ctx);
      const { names, outcomes } = await catalogue();
      expect(outcomes).toEqual(names.map((n) => `${n}: pass`));
    },
  );

  it.skipIf(isRoot)(
    `as another user, every shipped scenario written for it passes or is skipped with a named reason${skipNote(!isRoot, 'runs as root here: the test above asserts that every one passes')}`,
    async (ctx) => {
      await ready(ctx);
      const { names, outcomes } = await catalogue();
      // pid-ns runs wherever the runtime does (rootless, in a user namespace, for unshare); the others may
      // be skipped by the preflight or the runtime, each with its reason (e.g. tool-missing:X).
      expect(outcomes).toEqual(
        names.map((n) =>
          n === 'pid-ns' ? 'pid-ns: pass' : expect.stringMatching(`^${n}: (pass|skip [a-z-]+(:[\\w-]+)?)$`),
        ),
      );
    },
  );

  it.runIf(name !== 'unshare')(
    `keeps the target's kernel settings read-only inside, as Docker's defaults do (/proc/sys)${skipNote(name !== 'unshare', 'unshare gives no root of its own: the process sees the target /proc as it is')}`,
    async (ctx) => {
      const { target, info, runtime } = await ready(ctx);
      // The hostname's file: harmless to try, since the container has a UTS namespace of its own.
      const text = `name: pid-ns\ntitle: t\nquestion: q\nisolate: { namespaces: [pid, uts] }\nruntimes: [${name}]\nobserve:\n  inside: [{ name: write, run: [sh, -c, 'echo x > /proc/sys/kernel/hostname'] }]\n`;
      const r = await runScenario(scenario('pid-ns', text), target, { runtime, info });
      expect(r.observations!.inside.run!.write!.exit).not.toBe(0);
      expect(r.observations!.inside.run!.write!.output).toMatch(/Read-only file system/);
    },
  );

  it('passes a hostile word to the inside unchanged, and no shell runs any of it', async (ctx) => {
    const { target, info, runtime } = await ready(ctx);
    const marker = join(tmpdir(), `nslab-pwned-${process.pid}-${name}`);
    const hostile = `a'b"c $(touch ${marker}) \`touch ${marker}\` ; touch ${marker}\nline\ttab $HOME *`;
    const text = `name: pid-ns
title: t
question: q
isolate: { namespaces: [pid, uts] }
runtimes: [${name}]
observe:
  inside:
    - { name: echo, run: [printf, '%s', ${JSON.stringify(hostile)}] }
expect: []
`;
    const r = await runScenario(scenario('pid-ns', text), target, { runtime, info });
    expect(r.status, r.detail).toBe('pass');
    expect(r.observations!.inside.run!.echo!.output).toBe(hostile);
    expect(existsSync(marker)).toBe(false);
  });

  it('leaves no process behind, nor any runtime state', async (ctx) => {
    const { target, info, runtime } = await ready(ctx);
    const r = await runScenario(scenario('pid-ns'), target, { runtime, info });
    expect(r.status).toBe('pass');
    const pid = r.observations!.outside.pid!;
    const gone = async (check: () => boolean | Promise<boolean>) => {
      for (let i = 0; i < 50 && !(await check()); i++) await sleep(100);
      return check();
    };
    expect(await gone(() => !alive(pid))).toBe(true);
    const facts = r.observations!.outside.runtime;
    expect(facts?.stateFile).toEqual(STATE_FILE[name]?.(String(facts?.container)));
    // What the runtime still keeps of that container on the host: runc's state folder in this run's state
    // root, the daemon's container; unshare keeps nothing.
    const kept = async () => [
      ...(name === 'runc' && existsSync(dirname(String(facts?.stateFile)))
        ? [`runc state of ${facts?.container}`]
        : []),
      ...(name === 'docker' &&
      (await execa('docker', ['ps', '-aq', '--filter', `name=^${String(facts?.container)}$`])).stdout !== ''
        ? [`docker container ${facts?.container}`]
        : []),
    ];
    expect(await gone(async () => (await kept()).length === 0)).toBe(true);
    expect(await kept()).toEqual([]);
  });
});

describe.each(['runc', 'docker'] as const)('the %s runtime, interrupted', (name) => {
  it('a probe stopped before it found its process leaves no container once the runtime is closed', async (ctx) => {
    const { target, info, runtime, skip } = await prepare(undefined, name);
    if (skip) ctx.skip(`${name}: ${skip.reason}: ${skip.detail}`);
    const slow = scenario(
      'pid-ns',
      `name: pid-ns\ntitle: t\nquestion: q\nisolate: { namespaces: [pid] }\nruntimes: [${name}]\nobserve:\n  inside: [{ name: nap, run: [sleep, '30'] }]\n`,
    );
    const containers = async () =>
      name === 'docker'
        ? (await execa('docker', ['ps', '-aq', '--filter', 'name=^nslab-'])).stdout
            .split('\n')
            .filter(Boolean)
        : (await execa('sh', ['-c', 'ls -d /tmp/nslab-runc.*/state/nslab-* 2>/dev/null || true'])).stdout
            .split('\n')
            .filter(Boolean);
    const stop = new AbortController();
    const running = runScenario(slow, target, { runtime, info, signal: stop.signal });
    try {
      // Stopped while the container's shell is still in its first command (it has not reported yet).
      for (let i = 0; i < 100 && (await containers()).length === 0; i++) await sleep(100);
      expect((await containers()).length).toBeGreaterThan(0);
    } finally {
      stop.abort();
    }
    expect((await running).reason).toBe('interrupted');
    await runtime.close();
    expect(await containers()).toEqual([]);
  });
});

describe('what a runtime refuses, as a named skip', () => {
  // "optional:X" marks X as a namespace the runtime may leave out (isolate.optional).
  const request = (words: string[], fork: boolean): IsolateRequest => ({
    namespaces: words.map((w) => w.replace('optional:', '')) as Namespace[],
    optional: words.filter((w) => w.startsWith('optional:')).map((w) => w.slice(9)) as Namespace[],
    fork,
    insideArgs: ['nslab-inside', '0'],
  });
  it.each([
    ['unshare', ['pid'], false, undefined],
    ['unshare', ['pid', 'user', 'time'], true, undefined],
    ['runc', ['pid'], false, 'runtime-unsupported:nofork'],
    ['runc', ['pid', 'time'], true, 'runtime-unsupported:time'],
    ['runc', ['pid', 'time', 'optional:time'], true, undefined],
    ['docker', ['pid', 'time', 'optional:time'], true, undefined],
    ['runc', ['user'], true, 'runtime-unsupported:user'],
    ['runc', ['pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup'], true, undefined],
    ['docker', ['pid'], false, 'runtime-unsupported:nofork'],
    ['docker', ['time'], true, 'runtime-unsupported:time'],
    ['docker', ['pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup'], true, undefined],
  ] as const)('%s, %j, fork %s: %s', (name, namespaces, fork, reason) => {
    const runtime: Runtime = createRuntime(name);
    expect(runtime.refuses(request([...namespaces], fork))?.reason).toBe(reason);
  });
});

describe('runtimes that cannot run here skip with the reason found, never pass', () => {
  let bin: string;
  beforeAll(() => {
    // A PATH with what the prepare scripts use, but no runc.
    bin = mkdtempSync(join(tmpdir(), 'nslab-path-'));
    for (const tool of ['sh', 'id', 'cat', 'uname', 'unshare', 'ls', 'mktemp', 'busybox', 'docker']) {
      const found = findOnPath(tool);
      if (found) symlinkSync(found, join(bin, tool));
    }
  });
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  it('runc not on PATH: tool-missing:runc', async () => {
    const { skip } = await prepare(undefined, 'runc', { env: { PATH: bin } });
    expect(skip?.reason).toBe('tool-missing:runc');
  });

  it.runIf(isRoot)(
    `no Docker daemon answers (DOCKER_HOST at a socket nobody listens on): runtime-unavailable:docker${skipNote(isRoot, 'as another user docker is needs-root first')}`,
    async (ctx) => {
      if (!findOnPath('docker')) ctx.skip('no docker client here');
      const socket = join(bin, 'no-daemon.sock');
      const { skip } = await prepare(undefined, 'docker', {
        env: { PATH: process.env.PATH ?? '', DOCKER_HOST: `unix://${socket}` },
      });
      expect(skip?.reason).toBe('runtime-unavailable:docker');
      expect(skip?.detail).toMatch(/no Docker daemon answers/);
      expect(skip?.hint).toMatch(/dockerd/);
    },
  );

  it.for(['runc', 'docker'] as const)(
    `as nobody (rootless), %s: needs-root${skipNote(isRoot, 'needs root to become nobody')}`,
    async (name, ctx) => {
      if (!isRoot) return ctx.skip('needs root to become nobody');
      const { skip, targetSkip } = await prepare(undefined, name, { prefix: NOBODY });
      // The target itself comes first: without user namespaces for nobody it skips, and no runtime is asked.
      if (targetSkip) return ctx.skip(`the native target as nobody: ${targetSkip.reason}`);
      expect(skip?.reason).toBe(name === 'runc' && !findOnPath('runc') ? 'tool-missing:runc' : 'needs-root');
    },
  );

  it.runIf(isRoot)(
    `a whole run with an unavailable runtime: the target and every scenario skip with its reason${skipNote(isRoot, 'as another user docker is needs-root first')}`,
    async (ctx) => {
      if (!findOnPath('docker')) ctx.skip('no docker client here');
      const report = await runAll({
        scenarios: [scenario('pid-ns'), scenario('uts-ns'), scenario('user-ns')],
        targets: [
          new NativeTarget({
            env: { PATH: process.env.PATH ?? '', DOCKER_HOST: `unix://${join(bin, 'none.sock')}` },
          }),
        ],
        runtime: 'docker',
      });
      const t = report.targets[0]!;
      expect(t.runtime?.name).toBe('docker');
      expect(t.status).toBe('skip');
      expect(t.scenarios.map((s) => [s.status, s.reason])).toEqual([
        ['skip', 'runtime-unavailable:docker'],
        ['skip', 'runtime-unavailable:docker'],
        // Not written for docker: that is the reason, whether or not a daemon answers.
        ['skip', 'not-for-runtime:docker'],
      ]);
      expect(report.summary.pass).toBe(0);
    },
  );

  it('a scenario not written for the runtime: not-for-runtime, before anything runs', async (ctx) => {
    // Only a native target that cannot run here at all gives its own reason instead.
    const native = new NativeTarget();
    const { skip } = await native.prepare();
    await native.close();
    if (skip) return ctx.skip(`native target: ${skip.reason}`);
    const report = await runAll({
      scenarios: [scenario('user-ns')],
      targets: [new NativeTarget()],
      runtime: 'runc',
    });
    const s = report.targets[0]!.scenarios[0]!;
    expect([s.status, s.reason]).toEqual(['skip', 'not-for-runtime:runc']);
  });
});
