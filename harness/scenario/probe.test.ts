import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildObservations, isolationFailure } from './observations.ts';
import { parseProbeOutput, probeArgs, PROBE_SCRIPT, unshareArgv } from './probe.ts';
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
  const r = await execa(shell[0]!, [...shell.slice(1), '-s', '--', ...probeArgs(s, { shell })], {
    input: PROBE_SCRIPT,
    cwd: work,
    env,
    extendEnv: env === undefined,
    stripFinalNewline: false,
  });
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
});

describe('probeArgs', () => {
  it('puts the offsets into the isolate argv, the user namespace of a rootless target first', () => {
    const args = probeArgs(timed, { extraNamespaces: ['user'] });
    const n = Number(args[0]);
    expect(args.slice(1, 1 + n)).toEqual([
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
      '1',
      'up',
      '2',
      'cat',
      '/proc/uptime',
    ]);
    expect(args.slice(1 + n)).toEqual(['1', 'up', '2', 'cat', '/proc/uptime']);
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
  const shells: [string, string[], () => Record<string, string> | undefined][] = [
    ['dash (Debian sh)', ['sh'], () => undefined],
    ['bash', ['bash'], () => undefined],
  ];
  if (hasBusybox) {
    // Only busybox on PATH, as in the VM: its ash, unshare, ps, readlink and sleep.
    shells.push(['busybox ash with busybox tools only', ['busybox', 'sh'], () => ({ PATH: busyboxBin })]);
  }

  it.each(shells)('under %s: PID 1 inside, a host PID outside, one kernel', async (_name, shell, env) => {
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
    expect(o.outside.parents?.[0]).toEqual({ pid: o.outside.pid, comm: expect.stringMatching(/sh|busybox/) });
    expect(o.outside.parents?.at(-1)?.pid).toBe(1);
    expect(o.inside.ps).toMatch(/^\s*1\s+0\s/m);
    // Scenario values travel as data: echoed back byte for byte, nothing executed.
    expect(o.inside.run?.echo).toEqual({ output: HOSTILE, exit: 0 });
    expect(existsSync(join(work, 'PWNED'))).toBe(false);
    expect(o.inside.run?.fails).toEqual({ output: '', exit: 7 });
    expect(o.outside.run?.pidvar).toEqual({ output: String(o.outside.pid), exit: 0 });
    // The isolated process is gone afterwards.
    expect(existsSync(`/proc/${o.outside.pid}`)).toBe(false);
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

  it('reports a failure to isolate instead of hanging', async () => {
    const bad = { ...scenario, isolate: { namespaces: [] } };
    const args = probeArgs(bad);
    args.splice(1, 1, 'unshare-does-not-exist');
    const r = await execa('sh', ['-s', '--', ...args], { input: PROBE_SCRIPT, stripFinalNewline: false });
    const failure = isolationFailure(parseProbeOutput(r.stdout));
    expect(failure?.exit).toBe(127);
    expect(failure?.stderr).toMatch(/unshare-does-not-exist/);
  });
});
