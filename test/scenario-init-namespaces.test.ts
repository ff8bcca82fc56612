import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { DEFAULT_SCENARIOS_DIR } from '../harness/cli/paths.ts';
import { parseScenarioText } from '../harness/scenario/load.ts';
import { checkExpectations } from '../harness/scenario/expect.ts';
import { runScenarioText } from './helpers/scenario-run.ts';

const FILE = join(DEFAULT_SCENARIOS_DIR, 'init-namespaces.yaml');
const TEXT = readFileSync(FILE, 'utf8');
const ISOLATE = 'namespaces: [user, pid, uts, ipc, cgroup, time]';
// An observer in namespaces of its own, as in a container; the user namespace makes it possible without root.
const CONTAINED = [
  ...['unshare', '--user', '--map-root-user', '--pid', '--fork', '--mount-proc'],
  ...['--uts', '--ipc', '--cgroup', '--time', '--'],
];

const run = (ctx: TestContext, text: string, prefix?: string[]) =>
  runScenarioText(ctx, FILE, text, { prefix });
const failed = (r: Awaited<ReturnType<typeof run>>) =>
  r.expectations!.filter((e) => !e.ok).map((e) => e.that);

const INITIAL = {
  pid: 4026531836,
  uts: 4026531838,
  ipc: 4026531839,
  user: 4026531837,
  cgroup: 4026531835,
  time: 4026531834,
};

describe('init-namespaces: its patterns', () => {
  const scenario = parseScenarioText(FILE, TEXT);
  const check = (side: 'inside' | 'outside', type: string, link: string) => {
    const e = scenario.expect.find(
      (x) => x.that === `${side}.${side === 'inside' ? 'ns' : 'hostNs'}.${type}`,
    )!;
    const ns = { [type]: link };
    return checkExpectations([e], { inside: { ns }, outside: { hostNs: ns } }, 'native')[0]!.ok;
  };
  it.each(Object.entries(INITIAL))(
    '%s: the observer may be in the initial one or a later one, nothing else',
    (type, ino) => {
      expect(check('outside', type, `${type}:[${ino}]`)).toBe(true);
      expect(check('outside', type, `${type}:[4026531840]`)).toBe(true);
      expect(check('outside', type, `${type}:[4294967295]`)).toBe(true);
      for (const [other, otherIno] of Object.entries(INITIAL)) {
        if (other !== type) expect(check('outside', type, `${type}:[${otherIno}]`)).toBe(false);
      }
      expect(check('outside', type, `${type}:[4026531833]`)).toBe(false);
      expect(check('outside', type, `${type}:[40265318400]`)).toBe(false);
      expect(check('outside', type, `net:[${ino}]`)).toBe(false);
    },
  );
  it.each(Object.entries(INITIAL))('%s: a namespace made now is never the initial one', (type, ino) => {
    expect(check('inside', type, `${type}:[${ino}]`)).toBe(false);
    expect(check('inside', type, `${type}:[4026531839]`)).toBe(false);
    expect(check('inside', type, `${type}:[4026532181]`)).toBe(true);
  });
});

describe('init-namespaces on the native target', () => {
  it('passes here, naming each of the six as initial or not', async (ctx) => {
    const r = await run(ctx, TEXT);
    expect(r.status).toBe('pass');
    expect(r.observations?.outside.run?.initial?.output).toMatch(
      /^(cgroup|ipc|pid|time|user|uts): (initial|not initial, \S+)(\n(cgroup|ipc|pid|time|user|uts): (initial|not initial, \S+)){5}$/,
    );
  });

  it('an observer in namespaces of its own still passes, and the facts say "not initial"', async (ctx) => {
    const r = await run(ctx, TEXT, CONTAINED);
    expect(r.status).toBe('pass');
    expect(r.observations?.outside.hostNs?.pid).not.toBe('pid:[4026531836]');
    expect(r.observations?.outside.run?.initial?.output).toMatch(/^pid: not initial, pid:\[\d+\]$/m);
  });

  it('a process left in the initial namespaces fails the checks that it was numbered later', async (ctx) => {
    expect(TEXT).toContain(ISOLATE);
    const r = await run(ctx, TEXT.replace(ISOLATE, 'namespaces: [user, uts]'));
    expect(r.status).toBe('fail');
    expect(failed(r).sort()).toEqual([
      'inside.ns.cgroup',
      'inside.ns.ipc',
      'inside.ns.pid',
      'inside.ns.time',
    ]);
  });
});
