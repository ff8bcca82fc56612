import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { DEFAULT_SCENARIOS_DIR } from '../harness/cli/paths.ts';
import { runScenarioText } from './helpers/scenario-run.ts';

const FILE = join(DEFAULT_SCENARIOS_DIR, 'process-visibility.yaml');
const TEXT = readFileSync(FILE, 'utf8');
const ISOLATE = 'namespaces: [pid, mnt, uts, ipc, net, cgroup]';

const run = (ctx: TestContext, text: string) => runScenarioText(ctx, FILE, text);

describe('process-visibility on the native target', () => {
  it("passes here; ps's lines are the isolated process and the parent the kernel names", async (ctx) => {
    const r = await run(ctx, TEXT);
    expect(r.status).toBe('pass');
    const o = r.observations!.outside;
    const [me, parent] = o.run!.hostPs!.output.split('\n').map((l) => l.trim().split(/ +/));
    expect(Number(me![0])).toBe(o.pid);
    expect(Number(me![1])).toBe(o.parents![1]!.pid);
    expect(Number(parent![0])).toBe(o.parents![1]!.pid);
  });

  it('without a PID namespace unshare execs the shell: not PID 1, and its parent is not unshare', async (ctx) => {
    expect(TEXT).toContain(ISOLATE);
    const r = await run(ctx, TEXT.replace(ISOLATE, 'namespaces: [mnt, uts, ipc, net, cgroup]'));
    expect(r.status).toBe('fail');
    expect(r.expectations!.filter((e) => !e.ok).map((e) => e.that)).toEqual([
      'inside.pid',
      'inside.ns.pid',
      'outside.run.hostPs.output',
      'outside.parents[1].comm',
    ]);
    // Signals reach it all the same.
    expect(r.expectations!.find((e) => e.that === 'outside.run.signal.output')?.ok).toBe(true);
  });
});
