// The fault matrix, each case bounded in time and ending with no QEMU of ours and nothing left in the
// runtime folder: real QEMU under TCG, real signals, a real full filesystem.
import {
  symlinkSync,
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hostArch } from '../harness/image/arch.ts';
import { VmBuilder } from '../harness/vm/vm.ts';
import { buildImage } from '../harness/image/build.ts';
import { DEFAULT_IMAGE_CACHE, DEFAULT_LINUXKIT_YML } from '../harness/cli/paths.ts';
import { alive } from '../harness/vm/state.ts';
import { hostPlatform } from '../harness/platform/index.ts';
import { projectImage, qemuProcessesWith } from './helpers/image.ts';
import { realQemu } from './helpers/stand-in-qemu.ts';
import { findOnPath, skipNote } from './helpers/tools.ts';
import { stderrSays } from './helpers/interrupt.ts';
import { ABORT_GRACE_MS } from '../harness/ssh/index.ts';
import { QMP_STOP_GIVE_UP_MS } from '../harness/vm/started-vm.ts';

const BIN = new URL('../bin/nslab.mjs', import.meta.url).pathname;
const ARCH = hostArch();
const qemu = realQemu(ARCH);
const isRoot = process.getuid?.() === 0;
let dir: string;
let runtime: string;
const env = () => ({ NSLAB_RUNTIME_DIR: runtime, XDG_STATE_HOME: join(dir, 'state') });
const nslab = (args: string[]) => execa('node', [BIN, ...args], { reject: false, cwd: dir, env: env() });
/** Nothing of a VM is left: no QEMU naming the runtime folder, no run folder in it. */
const nothingLeft = async () => {
  expect(await qemuProcessesWith(runtime)).toEqual([]);
  expect(readdirSync(runtime).filter((d) => d.startsWith('vm-'))).toEqual([]);
};
// The give-ups the bounds below are derived from, from the source itself.
/** What a timer may fire late by on a loaded host (the deadline's, the grace's). */
const TIMER_LATENESS_MS = 250;
/** stop()'s checks poll every 20 ms: what a step's wait may overrun by, and the run folder's removal. */
const POLL_SLACK_MS = 250;
const timed = async <T>(f: () => Promise<T>) => {
  const t0 = performance.now();
  const value = await f();
  return { value, ms: performance.now() - t0 };
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-faults-'));
  runtime = mkdtempSync(join(tmpdir(), 'nslab-faults-rt-'));
});
afterAll(async () => {
  await nslab(['vm', 'down']);
  rmSync(dir, { recursive: true, force: true });
  rmSync(runtime, { recursive: true, force: true });
});

describe('--qemu that is not QEMU (bound: 10 s, nothing booted)', () => {
  it.each([
    ['a missing file', () => join(dir, 'nope'), /--qemu \S+nope: no such file/],
    [
      'a program that is not QEMU',
      () => '/bin/false',
      /--qemu \/bin\/false: not a QEMU binary \(its --version said "false/,
    ],
    [
      'a script that prints nothing',
      () => {
        const p = join(dir, 'silent-qemu');
        writeFileSync(p, '#!/bin/sh\nexit 0\n');
        chmodSync(p, 0o755);
        return p;
      },
      /not a QEMU binary \(its --version said "\(nothing\)"\)/,
    ],
  ])('%s: exit 2, quoting the value and what it said', async (_, path, words) => {
    const { value: r, ms } = await timed(() =>
      nslab(['scenario', 'pid-ns', '--target', 'vm', '--qemu', path()]),
    );
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toMatch(words);
    expect(ms).toBeLessThan(10_000);
    await nothingLeft();
  });
});

describe.runIf(qemu)(`QEMU missing${skipNote(qemu, `qemu-system-${ARCH} is not on PATH`)}`, () => {
  it('scenario --target vm: exit 3, naming the binary and how to install it (bound: 10 s)', async () => {
    // A PATH with node and the few tools the CLI itself starts, but no QEMU; the image given ready-made.
    const bin = join(dir, 'bin-no-qemu');
    mkdirSync(bin, { recursive: true });
    symlinkSync(process.execPath, join(bin, 'node'));
    for (const tool of ['sh', 'uname', 'id', 'cat']) symlinkSync(findOnPath(tool)!, join(bin, tool));
    const image = await projectImage(ARCH);
    const { value: r, ms } = await timed(() =>
      execa(
        join(bin, 'node'),
        [BIN, 'scenario', 'pid-ns', '--target', 'vm', '--image', image.dir, '--report-dir', 'r0'],
        {
          reject: false,
          cwd: dir,
          env: { ...env(), PATH: bin },
          extendEnv: false,
        },
      ),
    );
    expect(r.exitCode).toBe(3);
    expect(String(r.stdout + r.stderr)).toMatch(
      new RegExp(`qemu-system-${ARCH} not found on PATH or in the usual install folders`),
    );
    expect(String(r.stdout + r.stderr)).toMatch(/apt-get install -y --no-install-recommends qemu-system-/);
    expect(ms).toBeLessThan(10_000);
    await nothingLeft();
  });
});

describe.runIf(qemu)(`a VM that goes wrong${skipNote(qemu, `qemu-system-${ARCH} is not on PATH`)}`, () => {
  it('a boot that never becomes ready: --boot-timeout is honoured and the last console lines quoted (bound: 6 s + 20 s)', async () => {
    // The same QEMU, but the guest's kernel starts a shell instead of nslab's /init: it never says it waits.
    const stub = join(dir, 'shell-init-qemu');
    writeFileSync(
      stub,
      `#!/bin/sh\nfor a; do shift; [ "$prev" = -append ] && a="$a rdinit=/bin/sh"; set -- "$@" "$a"; prev=$a; done\nexec '${qemu}' "$@"\n`,
    );
    chmodSync(stub, 0o755);
    const { value: r, ms } = await timed(() =>
      nslab([
        'scenario',
        'pid-ns',
        '--target',
        'vm',
        '--accel',
        'tcg',
        '--no-snapshot',
        '--qemu',
        stub,
        '--boot-timeout',
        '6',
        '--json',
        '--report-dir',
        'r1',
      ]),
    );
    expect(r.exitCode).toBe(1);
    const t = JSON.parse(String(r.stdout)).targets[0];
    expect(t.scenarios[0].detail).toMatch(/within 6 s \(accelerator tcg; raise it with --boot-timeout\)/);
    expect(t.scenarios[0].detail).toMatch(/Run \/init as init process|\/bin\/sh/);
    expect(ms).toBeLessThan(26_000);
    await nothingLeft();
  }, 120_000);

  it('every port taken, attempt after attempt: a clear error after 3 tries, nothing left (bound: 30 s)', async () => {
    // Real listeners on 127.0.0.1 hold the ports that every attempt is handed.
    const held = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<Server>((resolve) => {
            const srv = createServer();
            srv.listen(0, '127.0.0.1', () => resolve(srv));
          }),
      ),
    );
    const ports = held.map((s) => (s.address() as { port: number }).port);
    let next = 1;
    try {
      const boot = new VmBuilder(await projectImage(ARCH))
        .withAccel('tcg')
        .withSnapshots(false)
        .withSshPort(ports[0]!)
        .withPortPicker(async () => ports[next++ % ports.length]!)
        .boot();
      const { ms } = await timed(() =>
        expect(boot).rejects.toThrow(/no free port for the SSH forward after 3 tries/),
      );
      expect(ms).toBeLessThan(30_000);
      for (const p of ports) expect(await qemuProcessesWith(`127.0.0.1:${p}-`)).toEqual([]);
    } finally {
      for (const s of held) s.close();
    }
  });

  it('QMP unreachable when stopping: SIGTERM ends QEMU within the stop plan’s bounds (bound: the plan)', async () => {
    // The promise: QMP quit, then SIGTERM, then SIGKILL, each step given its wait (the host's stop plan).
    const plan = hostPlatform.stopPlan(false);
    expect(plan.map((s) => (s.do === 'signal' ? s.signal : s.do))).toEqual(['qmp', 'SIGTERM', 'SIGKILL']);
    const vm = await new VmBuilder(await projectImage(ARCH)).withAccel('tcg').boot();
    const pid = vm.pid;
    rmSync(join(vm.dir, 'qmp.sock'));
    // Which signals the stop sends QEMU (process.kill(pid, 0) only asks whether it is alive).
    const kill = vi.spyOn(process, 'kill');
    let ms: number;
    let sent: (string | number | undefined)[];
    try {
      ({ ms } = await timed(() => vm.stop()));
    } finally {
      sent = kill.mock.calls.filter(([p, signal]) => p === pid && signal !== 0).map(([, signal]) => signal);
      kill.mockRestore(); // which also forgets the calls
    }
    expect(alive(pid)).toBe(false);
    expect(existsSync(vm.dir)).toBe(false);
    // The QMP step fails (no socket) and QEMU outlives its wait; SIGTERM ends it, SIGKILL is not needed.
    expect(sent).toEqual(['SIGTERM']);
    // So the stop took at most the QMP command's give-up plus the waits of the steps up to SIGTERM's.
    const upToSigterm = plan.slice(0, 2).reduce((sum, step) => sum + step.waitMs, 0);
    expect(ms).toBeLessThan(QMP_STOP_GIVE_UP_MS + upToSigterm + POLL_SLACK_MS);
  });

  it('a kept VM whose QEMU has died: vm exec says none runs (exit 3); scenario boots a new one (bound: 240 s)', async () => {
    expect((await nslab(['vm', 'up'])).exitCode).toBe(0);
    const [pid] = await qemuProcessesWith(runtime);
    process.kill(pid!, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    const ex = await nslab(['vm', 'exec', '--', 'true']);
    expect(ex.exitCode).toBe(3);
    expect(String(ex.stderr)).toMatch(/no VM is running/);
    const run = await nslab(['scenario', 'pid-ns', '--target', 'vm', '--json', '--report-dir', 'r2']);
    expect(run.exitCode, String(run.stderr)).toBe(0);
    expect(JSON.parse(String(run.stdout)).targets[0].host.reusedVm).toBeUndefined();
    await nothingLeft();
  }, 240_000); // two boots and a kept VM on a loaded CI host, as the other kept-VM test

  it('a guest that hangs after readiness (QEMU stopped with SIGSTOP): the scenario errs, nothing waits forever (bound: 40 s)', async () => {
    expect((await nslab(['vm', 'up'])).exitCode).toBe(0);
    const [pid] = await qemuProcessesWith(runtime);
    process.kill(pid!, 'SIGSTOP');
    try {
      const { value: r, ms } = await timed(() =>
        nslab(['scenario', 'pid-ns', '--target', 'vm', '--timeout', '5', '--json', '--report-dir', 'r3']),
      );
      expect(r.exitCode).toBe(1);
      const s = JSON.parse(String(r.stdout)).targets[0].scenarios[0];
      expect(s.status).toBe('error');
      expect(s.detail).toMatch(/SSH server is not answering|timeout/);
      expect(ms).toBeLessThan(40_000);
    } finally {
      process.kill(pid!, 'SIGCONT');
    }
    expect((await nslab(['vm', 'down'])).exitCode).toBe(0);
    await nothingLeft();
  }, 120_000);

  it('a scenario that times out inside the VM: error "timeout" at --timeout, the VM stopped (bound: 3 s and its 1 s give-up)', async () => {
    const scenarios = join(dir, 'slow');
    mkdirSync(scenarios, { recursive: true });
    writeFileSync(
      join(scenarios, 'slow.yaml'),
      'name: slow\ntitle: t\nquestion: q\nisolate:\n  namespaces: [uts]\nobserve:\n  inside:\n    - { name: wait, run: [sleep, "600"] }\nexpect: []\n',
    );
    const { value: r, ms } = await timed(() =>
      nslab([
        'scenario',
        'slow',
        '--target',
        'vm',
        '--scenarios-dir',
        scenarios,
        '--timeout',
        '3',
        '--json',
        '--report-dir',
        'r5',
      ]),
    );
    expect(r.exitCode).toBe(1);
    const s = JSON.parse(String(r.stdout)).targets[0].scenarios[0];
    expect(s).toMatchObject({ status: 'error', reason: 'timeout' });
    // The promise: stopped at --timeout (3 s), its SSH channel then given up on after ABORT_GRACE_MS.
    expect(s.durationMs).toBeGreaterThanOrEqual(3_000 - 1); // durationMs is rounded to the ms
    expect(s.durationMs).toBeLessThan(3_000 + ABORT_GRACE_MS + 2 * TIMER_LATENESS_MS);
    expect(ms).toBeLessThan(60_000);
    await nothingLeft();
  }, 120_000);

  it('SIGTERM while a scenario runs in the VM: exit 143, the report written, the VM stopped (bound: 10 s after it)', async () => {
    const child = execa('node', [BIN, 'scenario', 'all', '--target', 'vm', '--json', '--report-dir', 'r6'], {
      reject: false,
      cwd: dir,
      env: env(),
    });
    await stderrSays(child, 'running');
    const sent = performance.now();
    child.kill('SIGTERM');
    const r = await child;
    expect(r.exitCode).toBe(143);
    expect(performance.now() - sent).toBeLessThan(10_000);
    expect(JSON.parse(readFileSync(join(dir, 'r6', 'latest', 'report.json'), 'utf8')).interrupted).toBe(true);
    await nothingLeft();
  }, 120_000);

  it('a second Ctrl-C quits at once: exit 130, no QEMU left (bound: 5 s after it)', async () => {
    const child = execa(
      'node',
      [BIN, 'scenario', 'pid-ns', '--target', 'vm', '--no-snapshot', '--report-dir', 'r4'],
      {
        reject: false,
        cwd: dir,
        env: env(),
      },
    );
    await stderrSays(child, 'QEMU started');
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 50));
    const second = performance.now();
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(performance.now() - second).toBeLessThan(5_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(await qemuProcessesWith(runtime)).toEqual([]);
  });
});

describe.runIf(qemu)(`SIGTERM while an image builds${skipNote(qemu, 'no image tools here')}`, () => {
  it('exit 143; no half-built folder and no lock left behind (bound: 10 s after it)', async () => {
    // A cache of its own (a miss), with the project's downloaded packages linked in (offline, no wait).
    const cache = join(dir, 'cache-term');
    const deb = ARCH === 'x86_64' ? 'amd64' : 'arm64';
    mkdirSync(join(cache, 'debian'), { recursive: true });
    const from = join(DEFAULT_IMAGE_CACHE, 'debian', deb);
    const linked = await execa('cp', ['-al', from, join(cache, 'debian', deb)], { reject: false });
    if (linked.exitCode !== 0) await execa('cp', ['-r', from, join(cache, 'debian', deb)]);
    const child = execa('node', [BIN, 'image', 'build', '--builder', 'debian', '--cache', cache], {
      reject: false,
      cwd: dir,
      env: env(),
    });
    await stderrSays(child, 'image: building');
    await new Promise((r) => setTimeout(r, 300));
    const sent = performance.now();
    child.kill('SIGTERM');
    const r = await child;
    expect(r.exitCode).toBe(143);
    expect(performance.now() - sent).toBeLessThan(10_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(readdirSync(cache).filter((f) => f.startsWith('.build-'))).toEqual([]);
    expect(existsSync(join(cache, 'debian', '.lock'))).toBe(false);
  }, 120_000);
});

describe.runIf(isRoot)(`a full disk${skipNote(isRoot, 'mounting a small tmpfs needs root')}`, () => {
  it('while building an image into the cache: exit 3 naming the cache, no half-built entry left (bound: 60 s)', async () => {
    const small = join(dir, 'small-cache');
    mkdirSync(small);
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', small]);
    try {
      // The packages come from the project's own package cache (offline); only the image must fit in 4 MiB.
      const built = buildImage({
        config: DEFAULT_LINUXKIT_YML,
        arch: ARCH,
        builder: 'debian',
        cacheRoot: small,
        debRoot: join(DEFAULT_IMAGE_CACHE, 'debian'),
      });
      await expect(built).rejects.toMatchObject({
        exitCode: 3,
        message: expect.stringMatching(
          `cannot write the image or its packages into the cache ${small}: no space left on the device`,
        ),
      });
      expect(readdirSync(small).filter((f) => f.startsWith('.build-'))).toEqual([]);
    } finally {
      await execa('umount', [small]);
    }
  }, 60_000);

  it('while writing a report: exit 3 naming the folder; no half-written run; the previous report intact (bound: 10 s)', async () => {
    const full = join(dir, 'full');
    mkdirSync(full);
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', full]);
    try {
      const first = await nslab(['scenario', 'pid-ns', '--report-dir', join(full, 'r')]);
      expect(first.exitCode, String(first.stderr)).toBe(0);
      const before = readFileSync(join(full, 'r', 'latest', 'report.json'), 'utf8');
      await execa('sh', ['-c', `cat /dev/zero > '${join(full, 'filler')}' 2>/dev/null; true`]);
      const { value: r, ms } = await timed(() =>
        nslab(['scenario', 'pid-ns', '--report-dir', join(full, 'r')]),
      );
      expect(r.exitCode).toBe(3);
      expect(String(r.stderr)).toMatch(
        new RegExp(`cannot write the report in ${join(full, 'r')}/\\S+: no space left on the device`),
      );
      expect(ms).toBeLessThan(10_000);
      expect(readdirSync(join(full, 'r')).filter((f) => /^\d{8}T/.test(f))).toHaveLength(1);
      expect(
        readdirSync(join(full, 'r'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp')),
      ).toEqual([]);
      expect(readFileSync(join(full, 'r', 'latest', 'report.json'), 'utf8')).toBe(before);
    } finally {
      await execa('umount', [full]);
    }
  });
});
