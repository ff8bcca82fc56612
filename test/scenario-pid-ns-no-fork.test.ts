import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { DEFAULT_SCENARIOS_DIR } from '../harness/cli/paths.ts';
import { skipNote } from './helpers/tools.ts';
import { runScenarioText, NOBODY } from './helpers/scenario-run.ts';

const FILE = join(DEFAULT_SCENARIOS_DIR, 'pid-ns-no-fork.yaml');
const TEXT = readFileSync(FILE, 'utf8');
const NO_FORK = '  fork: false\n';
const isRoot = process.getuid?.() === 0;

const run = (ctx: TestContext, text: string, prefix?: string[]) =>
  runScenarioText(ctx, FILE, text, { prefix });

describe('pid-ns-no-fork on the native target', () => {
  it('passes here: $$ a host PID, the first child PID 1, the next fork refused', async (ctx) => {
    const r = await run(ctx, TEXT);
    expect(r.status).toBe('pass');
    const o = r.observations!;
    expect(o.inside.run!.next!.output).not.toContain('forked');
    expect(o.outside.nspid).toEqual([o.inside.pid]);
  });

  it.runIf(isRoot)(
    `as nobody (rootless, in a user namespace), the same${skipNote(isRoot, 'needs root to become nobody')}`,
    async (ctx) => {
      const r = await run(ctx, TEXT, NOBODY);
      expect(r.status).toBe('pass');
      expect(r.observations!.outside.ns!.user).not.toBe(r.observations!.outside.hostNs!.user);
    },
  );

  it('with the fork (plain unshare --pid --fork) the checks of the shell, its child and the next fork fail', async (ctx) => {
    expect(TEXT).toContain(NO_FORK);
    const r = await run(ctx, TEXT.replace(NO_FORK, '  fork: true\n'));
    expect(r.status).toBe('fail');
    expect(r.expectations!.filter((e) => !e.ok).map((e) => e.that)).toEqual([
      'inside.pid',
      'outside.pid',
      'outside.nspid[-1]',
      'outside.ns.pid',
      'inside.run.first.output',
      'inside.run.next.exit',
      'inside.run.next.output',
    ]);
    expect(r.observations!.inside.pid).toBe(1);
    expect(r.observations!.inside.run!.next).toEqual({ output: 'forked', exit: 0 });
  });
});
