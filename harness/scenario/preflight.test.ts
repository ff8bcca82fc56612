import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_SCENARIOS_DIR } from '../cli/paths.ts';
import { runAll } from '../run/run.ts';
import { NativeTarget } from '../targets/index.ts';
import { findOnPath, skipNote } from '../../test/helpers/tools.ts';
import { loadScenarioFile } from './load.ts';
import { parsePreflight, preflightSkip, PREFLIGHT_SCRIPT, toolsOf, type Preflight } from './preflight.ts';
import { UnshareRuntime } from '../runtimes/index.ts';
import type { Namespace } from '../vocabulary.ts';

const isRoot = process.getuid?.() === 0;
const netNs = await loadScenarioFile(join(DEFAULT_SCENARIOS_DIR, 'net-ns.yaml'));
const utsNs = await loadScenarioFile(join(DEFAULT_SCENARIOS_DIR, 'uts-ns.yaml'));
const dir = mkdtempSync(join(tmpdir(), 'nslab-preflight-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the preflight script, really run here', () => {
  it('records uid, capabilities, the namespace links, the tools asked for, and which unshare', async () => {
    const r = await execa('sh', ['-s', '--', 'unshare', 'sh', 'no-such-tool-here'], {
      input: PREFLIGHT_SCRIPT,
    });
    const pf = parsePreflight(r.stdout);
    expect(pf.uid).toBe(process.getuid!());
    expect(pf.capEff).toMatch(/^[0-9a-f]{16}$/);
    const own = (await execa('readlink', ['/proc/self/ns/pid'])).stdout;
    expect(pf.ns.pid).toBe(own); // readlink's own link: the same namespace as the preflight's
    expect(pf.ns.pid_for_children).toMatch(/^pid:\[\d+\]$/);
    expect(pf.tools).toEqual({ unshare: true, sh: true, 'no-such-tool-here': false });
    expect(pf.unshare).toMatch(/util-linux|BusyBox/);
    const max = (await execa('cat', ['/proc/sys/user/max_user_namespaces'], { reject: false })).stdout;
    if (max) expect(pf.sysctl['user/max_user_namespaces']).toBe(Number(max));
  });
});

const full = (): Preflight => ({
  ns: {
    pid: 'pid:[1]',
    mnt: 'mnt:[2]',
    uts: 'uts:[3]',
    net: 'net:[4]',
    time: 'time:[5]',
    cgroup: 'cgroup:[6]',
  },
  sysctl: {},
  config: {},
  tools: { unshare: true, ip: true, hostname: true },
  unshare: 'unshare from util-linux 2.38.1',
});

describe('preflightSkip (pure)', () => {
  it('nothing missing: no skip', () => {
    expect(preflightSkip(netNs, full())).toBeUndefined();
  });
  it('a namespace the kernel lacks: kernel-config with the option, and the config line when readable', () => {
    const pf = full();
    delete pf.ns.net;
    pf.config.CONFIG_NET_NS = 'n';
    expect(preflightSkip(netNs, pf)).toMatchObject({
      reason: 'kernel-config:CONFIG_NET_NS',
      detail: 'this kernel has no net namespace (no /proc/self/ns/net; CONFIG_NET_NS=n)',
    });
  });
  it('a program the scenario runs is not on PATH: tool-missing with its name', () => {
    const pf = full();
    pf.tools.ip = false;
    expect(preflightSkip(netNs, pf)).toMatchObject({ reason: 'tool-missing:ip' });
  });
  it("unshare is the unshare runtime's to check (see runtimes.test.ts), not a scenario's", () => {
    const pf = full();
    pf.tools.unshare = false;
    expect(preflightSkip(utsNs, pf)).toBeUndefined();
    expect(toolsOf([netNs, utsNs])).toEqual(['hostname', 'ip']);
  });
  it('under runc and docker only the outside commands run on the target; commands keep to their runtimes', () => {
    const mixed = {
      ...utsNs,
      observe: {
        inside: { builtins: [], commands: [{ name: 'a', run: ['hostname'] }] },
        outside: {
          builtins: [],
          commands: [
            { name: 'b', run: ['ip', 'link'] },
            { name: 'c', run: ['docker', 'ps'], runtimes: ['docker' as const] },
          ],
        },
      },
    };
    expect(toolsOf([mixed])).toEqual(['hostname', 'ip']);
    expect(toolsOf([mixed], 'docker')).toEqual(['docker', 'ip']);
    expect(toolsOf([mixed], 'runc')).toEqual(['ip']);
    const pf = full();
    pf.tools.hostname = false;
    expect(preflightSkip(mixed, pf)).toMatchObject({ reason: 'tool-missing:hostname' });
    expect(preflightSkip(mixed, pf, 'runc')).toBeUndefined();
  });
});

describe('the unshare runtime, from the preflight', () => {
  const info = { kind: 'native' as const, uname: '', os: 'linux' };
  const target = {} as never;
  it('no unshare on PATH: tool-missing:unshare, with the package to install', async () => {
    const pf = full();
    pf.tools.unshare = false;
    const { skip } = await new UnshareRuntime().prepare(target, info, pf);
    expect(skip).toMatchObject({ reason: 'tool-missing:unshare', hint: 'install util-linux' });
  });
  it("BusyBox's unshare cannot make time or cgroup namespaces", async () => {
    const pf = full();
    pf.unshare = 'BusyBox v1.35.0 (Debian 1:1.35.0-4+b3) multi-call binary.';
    const runtime = new UnshareRuntime();
    const { info: ri } = await runtime.prepare(target, info, pf);
    expect(ri.version).toBe(pf.unshare);
    const request = (namespaces: Namespace[]) => ({ namespaces, fork: true, insideArgs: [] });
    expect(runtime.refuses(request(['time']))).toMatchObject({ reason: 'tool-missing:unshare' });
    expect(runtime.refuses(request(['cgroup']))).toMatchObject({ reason: 'tool-missing:unshare' });
    expect(runtime.refuses(request(['uts']))).toBeUndefined();
  });
});

// A real condition, not a mocked probe: the same run with `ip` hidden from PATH.
const needed = [
  'sh',
  'unshare',
  'ps',
  'ls',
  'cat',
  'readlink',
  'mktemp',
  'mkfifo',
  'sleep',
  'rm',
  'id',
  'uname',
  'head',
  'zcat',
  'hostname',
];
describe.runIf(isRoot)(`a tool hidden from PATH${skipNote(isRoot, 'needs root')}`, () => {
  it('net-ns is skipped as tool-missing:ip, uts-ns still passes', async () => {
    const bin = join(dir, 'bin');
    await execa('mkdir', ['-p', bin]);
    for (const t of needed) {
      const p = findOnPath(t);
      if (p) symlinkSync(p, join(bin, t));
    }
    const report = await runAll({
      scenarios: [netNs, utsNs],
      targets: [new NativeTarget({ env: { PATH: bin } })],
      argv: [],
    });
    const t = report.targets[0]!;
    expect(t.preflight?.tools).toMatchObject({ ip: false, hostname: true, unshare: true });
    expect(t.scenarios.map((s) => `${s.name}:${s.status}:${s.reason ?? ''}`)).toEqual([
      'net-ns:skip:tool-missing:ip',
      'uts-ns:pass:',
    ]);
  });
});
