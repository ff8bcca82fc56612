import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildObservations, isolationFailure } from './observations.ts';
import { parseProbeOutput, probeArgs, PROBE_SCRIPT } from './probe.ts';
import { unshareArgv, UnshareRuntime } from '../runtimes/index.ts';

const unshare = new UnshareRuntime();
import { parseScenarioText } from './load.ts';
import { findOnPath, skipNote } from '../../test/helpers/tools.ts';

const isRoot = process.getuid?.() === 0;
const busybox = findOnPath('busybox');
const hasBusybox = busybox !== undefined;

// Values a scenario could carry that would do harm if pasted into shell text.
const HOSTILE = `a'b"c $(touch PWNED) \`touch PWNED\` ; touch PWNED
second line\ttab $HOME *`;

const scenario = parseScenarioText(
  'probe-demo.yaml',
  `name: probe-demo
title: probe
question: q
isolate: { namespaces: [pid, uts] }
observe:
  inside: [pid, ppid, uname, ns, ps, hostname, { name: echo, run: [printf, '%s', ${JSON.stringify(HOSTILE)}] }, { name: fails, run: [sh, -c, 'exit 7'] }]
  outside: [pid, nspid, ns, hostNs, parents, uname, { name: pidvar, run: [sh, -c, 'echo "$NSLAB_PID"'] }]
`,
);

// A time namespace whose boot clock runs a day ahead.
const timed = parseScenarioText(
  'timed.yaml',
  `name: timed
title: t
question: q
isolate: { namespaces: [time], time: { boottime: 86400 } }
observe:
  inside: [{ name: up, run: [cat, /proc/uptime] }]
  outside: [{ name: up, run: [cat, /proc/uptime] }]
`,
);

// `unshare --pid` without --fork: the first command is the namespace's PID 1, the second forks too late.
const noFork = parseScenarioText(
  'no-fork.yaml',
  `name: no-fork
title: n
question: q
isolate: { namespaces: [pid], fork: false }
observe:
  inside: [pid, ppid, hostname, { name: first, run: [sh, -c, 'echo $$'] }, { name: next, run: [echo, forked] }]
  outside: [pid, nspid, ns, hostNs, parents, { name: pidvar, run: [sh, -c, 'echo "$NSLAB_PID"'] }]
`,
);

let work: string;
let busyboxBin: string;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'nslab-probe-'));
  busyboxBin = join(work, 'bin');
  if (hasBusybox) {
    await execa('mkdir', ['-p', busyboxBin]);
    await execa(busybox!, ['--install', '-s', busyboxBin]);
  }
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function runProbe(shell: string[], env?: Record<string, string>, s = scenario) {
  const r = await execa(
    shell[0]!,
    [...shell.slice(1), '-s', '--', ...probeArgs(s, new UnshareRuntime({ shell }))],
    {
      input: PROBE_SCRIPT,
      cwd: work,
      env,
      extendEnv: env === undefined,
      stripFinalNewline: false,
    },
  );
  return parseProbeOutput(r.stdout);
}

describe('unshareArgv', () => {
  it('maps namespaces to flags, user first, pid with --fork and --mount-proc', () => {
    expect(unshareArgv(['pid', 'user'])).toEqual([
      'unshare',
      '--user',
      '--map-root-user',
      '--pid',
      '--fork',
      '--mount-proc',
    ]);
    expect(unshareArgv(['uts', 'uts'])).toEqual(['unshare', '--uts']);
  });
  it('gives the time namespace its clock offsets after all namespace flags, boottime first', () => {
    expect(unshareArgv(['time', 'pid'], { monotonic: -5, boottime: 86400 })).toEqual([
      'unshare',
      '--time',
      '--fork',
      '--pid',
      '--mount-proc',
      '--boottime',
      '86400',
      '--monotonic',
      '-5',
    ]);
    expect(unshareArgv(['time'], { monotonic: 0 })).toEqual([
      'unshare',
      '--time',
      '--fork',
      '--monotonic',
      '0',
    ]);
    // The namespace is for children only: the isolated process must be one (see UNSHARE_FLAGS).
    expect(unshareArgv(['time'], {})).toEqual(['unshare', '--time', '--fork']);
  });
  it('refuses clock offsets without the time namespace', () => {
    expect(() => unshareArgv(['uts'], { boottime: 1 })).toThrow(/without the time namespace/);
  });
  it('without fork makes the pid namespace with a bare --pid: no --fork, no --mount-proc', () => {
    expect(unshareArgv(['pid'], undefined, false)).toEqual(['unshare', '--pid']);
    expect(unshareArgv(['uts', 'pid', 'user'], undefined, false)).toEqual([
      'unshare',
      '--user',
      '--map-root-user',
      '--uts',
      '--pid',
    ]);
    expect(unshareArgv(['pid'], undefined, true)).toEqual(['unshare', '--pid', '--fork', '--mount-proc']);
  });
  it('refuses no fork without the pid namespace or with the time namespace, which needs the fork', () => {
    expect(() => unshareArgv(['uts'], undefined, false)).toThrow(/needs the pid namespace/);
    expect(() => unshareArgv(['pid', 'time'], undefined, false)).toThrow(/no time namespace/);
  });
});

describe('probeArgs', () => {
  it('puts the offsets into the isolate argv, the user namespace of a rootless target first', () => {
    const args = probeArgs(timed, new UnshareRuntime({ rootless: true }));
    expect(args[0]).toBe('fork');
    expect(args[1]).toBe(timed.observe.outside.builtins.join(' '));
    const n = Number(args[2]);
    expect(args.slice(3, 3 + n)).toEqual([
      'unshare',
      '--user',
      '--map-root-user',
      '--time',
      '--fork',
      '--boottime',
      '86400',
      'sh',
      '-c',
      'eval "$NSLAB_INNER"',
      'nslab-inside',
      timed.observe.inside.builtins.join(' '),
      '1',
      'up',
      '2',
      'cat',
      '/proc/uptime',
    ]);
    expect(args.slice(3 + n)).toEqual(['1', 'up', '2', 'cat', '/proc/uptime']);
  });
  it('tells the probe when the pid namespace is made without fork', () => {
    const args = probeArgs(noFork, unshare);
    expect(args[0]).toBe('nofork');
    const isolate = args.slice(3, 3 + Number(args[2]));
    expect(isolate.slice(0, 6)).toEqual([
      'unshare',
      '--pid',
      'sh',
      '-c',
      'eval "$NSLAB_INNER"',
      'nslab-inside',
    ]);
    expect(probeArgs(scenario, unshare)[0]).toBe('fork');
  });
});

describe('parseProbeOutput', () => {
  it('reads NUL-framed records, values with any other byte intact', () => {
    const r = parseProbeOutput('inside.pid\u00001\u0000inside.ps\u0000a\tb\nc\u0000');
    expect([...r]).toEqual([
      ['inside.pid', '1'],
      ['inside.ps', 'a\tb\nc'],
    ]);
  });
  it('rejects a stream cut in the middle of a record', () => {
    expect(() => parseProbeOutput('inside.pid\u00001\u0000inside.ps\u0000abc')).toThrow(/cut short/);
  });
  it('rejects keys outside the protocol (no prototype games)', () => {
    expect(() => parseProbeOutput('__proto__.x\u00001\u0000')).toThrow(/unexpected key/);
  });
});

describe.runIf(isRoot)(`the probe, really run${skipNote(isRoot, 'needs root')}`, () => {
  /** Each shell the probe must run under; a shell this host lacks skips its cases with the reason. */
  const shells: [
    name: string,
    shell: string[],
    env: () => Record<string, string> | undefined,
    missing: string | undefined,
  ][] = [
    ['dash (Debian sh)', ['sh'], () => undefined, undefined],
    ['bash', ['bash'], () => undefined, undefined],
    // Only busybox on PATH, as in the VM: its ash, unshare, ps, readlink and sleep.
    [
      `busybox ash with busybox tools only${skipNote(hasBusybox, 'busybox is not on PATH')}`,
      ['busybox', 'sh'],
      () => ({ PATH: busyboxBin }),
      hasBusybox ? undefined : 'busybox is not on PATH',
    ],
  ];

  it.for(shells)(
    'under %s: PID 1 inside, a host PID outside, one kernel',
    async ([, shell, env, missing], ctx) => {
      if (missing) return ctx.skip(missing);
      const records = await runProbe(shell, env());
      expect(isolationFailure(records)).toBeUndefined();
      const o = buildObservations(records, scenario);
      expect(o.inside.pid).toBe(1);
      expect(o.outside.pid).toBeGreaterThan(1);
      expect(o.outside.nspid).toEqual([o.outside.pid, 1]);
      expect(o.inside.ns?.pid).toMatch(/^pid:\[\d+\]$/);
      expect(o.inside.ns?.pid).toBe(o.outside.ns?.pid);
      expect(o.inside.ns?.pid).not.toBe(o.outside.hostNs?.pid);
      expect(o.inside.ns?.uts).not.toBe(o.outside.hostNs?.uts);
      expect(o.inside.kernel).toEqual(o.outside.kernel);
      expect(o.inside.kernel?.release).toBe((await execa('uname', ['-r'])).stdout);
      expect(o.outside.parents?.[0]).toEqual({
        pid: o.outside.pid,
        comm: expect.stringMatching(/sh|busybox/),
      });
      expect(o.outside.parents?.at(-1)?.pid).toBe(1);
      expect(o.inside.ps).toMatch(/^\s*1\s+0\s/m);
      // Scenario values travel as data: echoed back byte for byte, nothing executed.
      expect(o.inside.run?.echo).toEqual({ output: HOSTILE, exit: 0 });
      expect(existsSync(join(work, 'PWNED'))).toBe(false);
      expect(o.inside.run?.fails).toEqual({ output: '', exit: 7 });
      expect(o.outside.run?.pidvar).toEqual({ output: String(o.outside.pid), exit: 0 });
      // The isolated process is gone afterwards.
      expect(existsSync(`/proc/${o.outside.pid}`)).toBe(false);
    },
  );

  it('makes only the observations asked for (each is a process in a TCG guest), and kernel.machine is uname -m', async () => {
    const bare = parseScenarioText(
      'bare.yaml',
      `name: bare
title: t
question: q
isolate: { namespaces: [pid] }
observe: { inside: [pid, hostname], outside: [pid, uname] }
`,
    );
    const records = await runProbe(['sh'], undefined, bare);
    const keys = [...records.keys()];
    expect(keys).toEqual(
      expect.arrayContaining(['inside.pid', 'inside.hostname', 'outside.pid', 'outside.uname']),
    );
    expect(keys.filter((k) => /^inside\.(uname|ps|ns\.)|^outside\.(ns|hostNs)\./.test(k))).toEqual([]);
    expect(records.get('outside.kernel.machine')).toBe((await execa('uname', ['-m'])).stdout);
  });

  it('runs the inside with its boot clock shifted by the offset, the outside unshifted', async () => {
    const records = await runProbe(['sh'], undefined, timed);
    expect(isolationFailure(records)).toBeUndefined();
    const o = buildObservations(records, timed);
    const seconds = (side: typeof o.inside) => Number(side.run?.up?.output.split(' ')[0]);
    const shift = seconds(o.inside) - seconds(o.outside);
    // The outside reads a moment after the inside: a little less than a day, never more.
    expect(shift).toBeGreaterThan(86400 - 5);
    expect(shift).toBeLessThanOrEqual(86400);
  });

  // bash exits when a fork fails: its own case is below.
  const forkErrorShells = shells.filter(([name]) => name !== 'bash');
  it('without fork, the shells that report a failed fork are dash and busybox ash', () => {
    expect(forkErrorShells.map(([name]) => name.split(' ')[0])).toEqual(['dash', 'busybox']);
  });
  it.for(forkErrorShells)(
    'without fork, under %s: $$ a host PID, the first child PID 1, the next fork refused',
    async ([, shell, env, missing], ctx) => {
      if (missing) return ctx.skip(missing);
      const records = await runProbe(shell, env(), noFork);
      expect(isolationFailure(records)).toBeUndefined();
      const o = buildObservations(records, noFork);
      expect(o.inside.pid).toBeGreaterThan(1);
      expect(o.inside.ppid).toBeGreaterThan(1);
      expect(o.inside.hostname).toBe(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim());
      expect(o.inside.run?.first).toEqual({ output: '1', exit: 0 });
      expect(o.inside.run?.next?.exit).toBe(2);
      expect(o.inside.run?.next?.output).toMatch(/^[^\n]*(Cannot fork|can't fork: Cannot allocate memory)$/);
      // The outside observed the shell itself, in its own PID namespace; only its children's is new.
      expect(o.outside.pid).toBe(o.inside.pid);
      expect(o.outside.nspid).toEqual([o.inside.pid]);
      expect(o.outside.ns?.pid).toBe(o.outside.hostNs?.pid);
      expect(o.outside.ns?.pid_for_children).toMatch(/^pid:\[\d+\]$/);
      expect(o.outside.ns?.pid_for_children).not.toBe(o.outside.hostNs?.pid);
      expect(o.outside.parents?.[1]?.pid).toBe(o.inside.ppid);
      expect(o.outside.run?.pidvar).toEqual({ output: String(o.inside.pid), exit: 0 });
      expect(existsSync(`/proc/${o.outside.pid}`)).toBe(false);
    },
  );

  it('without fork under bash, which exits when a fork fails, reports the failure instead of hanging', async () => {
    const records = await runProbe(['bash'], undefined, noFork);
    const failure = isolationFailure(records);
    expect(failure?.exit).not.toBe(0);
    expect(failure?.stderr).toMatch(/fork: Cannot allocate memory/);
  });

  it('without fork, the isolated shell ends when the probe is killed', async () => {
    // The outside command kills the probe (its grandparent) and prints the isolated shell's PID.
    const killer = {
      ...noFork,
      observe: {
        ...noFork.observe,
        outside: {
          builtins: [],
          commands: [
            {
              name: 'kill',
              run: [
                'sh',
                '-c',
                'read -r _ _ _ pp _ < /proc/$PPID/stat; echo "$NSLAB_PID" > shell.pid; kill -9 "$pp"',
              ],
            },
          ],
        },
      },
    } satisfies typeof noFork;
    const r = await execa('sh', ['-s', '--', ...probeArgs(killer, unshare)], {
      input: PROBE_SCRIPT,
      cwd: work,
      reject: false,
    });
    expect(r.signal).toBe('SIGKILL');
    const shellPid = readFileSync(join(work, 'shell.pid'), 'utf8').trim();
    expect(shellPid).toMatch(/^\d+$/);
    // Its wait reads a FIFO that only the probe held open: it sees the end of file and exits.
    for (let i = 0; i < 50 && existsSync(`/proc/${shellPid}`); i++) await setTimeout(100);
    expect(existsSync(`/proc/${shellPid}`)).toBe(false);
  });

  it('an isolated side that names a process nobody has is a failure to isolate, at once, not a hang', async () => {
    // A stand-in for the runtime: it reports a PID that is nowhere, then waits on the probe's FIFO as the
    // real inside does; the probe must neither wait for it nor leave it behind.
    const liar =
      'printf "me 424242 pid:[1]\\n" > "$NSLAB_DIR/me"; read -r v < "$NSLAB_DIR/hold"; echo "$$" > gone.pid';
    const t0 = performance.now();
    const r = await execa('sh', ['-s', '--', 'fork', '', '3', 'sh', '-c', liar, '0'], {
      input: PROBE_SCRIPT,
      cwd: work,
      stripFinalNewline: false,
    });
    expect(performance.now() - t0).toBeLessThan(10_000);
    const failure = isolationFailure(parseProbeOutput(r.stdout));
    expect(failure).toEqual({
      exit: 125,
      stderr: 'the isolated process (PID 424242 in pid:[1], as it says) is not among the processes here',
    });
    // The stand-in saw its wait end (the FIFO closed) and went on to exit.
    for (let i = 0; i < 50 && !existsSync(join(work, 'gone.pid')); i++) await setTimeout(100);
    expect(existsSync(join(work, 'gone.pid'))).toBe(true);
  });

  it('reports a failure to isolate instead of hanging', async () => {
    const bad = { ...scenario, isolate: { namespaces: [] } };
    const args = probeArgs(bad, unshare);
    args.splice(3, 1, 'unshare-does-not-exist');
    const r = await execa('sh', ['-s', '--', ...args], { input: PROBE_SCRIPT, stripFinalNewline: false });
    const failure = isolationFailure(parseProbeOutput(r.stdout));
    expect(failure?.exit).toBe(127);
    expect(failure?.stderr).toMatch(/unshare-does-not-exist/);
  });
});
