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

async function runProbe(shell: string[], env?: Record<string, string>) {
  const r = await execa(shell[0]!, [...shell.slice(1), '-s', '--', ...probeArgs(scenario, { shell })], {
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
