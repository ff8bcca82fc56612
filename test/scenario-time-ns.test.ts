import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { DEFAULT_SCENARIOS_DIR } from '../harness/cli/paths.ts';
import { skipNote } from './helpers/tools.ts';
import { runScenarioText, NOBODY } from './helpers/scenario-run.ts';

const FILE = join(DEFAULT_SCENARIOS_DIR, 'time-ns.yaml');
const TEXT = readFileSync(FILE, 'utf8');
const OFFSET = 'time: { boottime: 86400 }';
const isRoot = process.getuid?.() === 0;

const run = (ctx: TestContext, text: string, prefix?: string[]) =>
  runScenarioText(ctx, FILE, text, { prefix });

describe('time-ns on the native target', () => {
  it('passes here: the boot clock a day ahead inside, the isolated process reading it too', async (ctx) => {
    const r = await run(ctx, TEXT);
    expect(r.status).toBe('pass');
    const o = r.observations!;
    // The isolated process's own reading, taken before the host's: a day ahead, less the moments between.
    const own = Number(o.inside.run!.uptime!.output.split(' ')[0]);
    const host = Number(o.outside.run!.uptime!.output.split(' ')[0]);
    expect(own - host).toBeGreaterThan(86400 - 5);
    expect(own - host).toBeLessThanOrEqual(86400);
  });

  it.runIf(isRoot)(
    `as nobody (rootless, in a user namespace), the offset still applies${skipNote(isRoot, 'needs root to become nobody')}`,
    async (ctx) => {
      const r = await run(ctx, TEXT, NOBODY);
      expect(r.status).toBe('pass');
      expect(r.observations!.inside.ns!.user).not.toBe(r.observations!.outside.hostNs!.user);
    },
  );

  it('with offset 0 the checks of the shift fail', async (ctx) => {
    expect(TEXT).toContain(OFFSET);
    const r = await run(ctx, TEXT.replace(OFFSET, 'time: { boottime: 0 }'));
    expect(r.status).toBe('fail');
    expect(r.expectations!.filter((e) => !e.ok).map((e) => e.that)).toEqual([
      'outside.run.offsets.output',
      'outside.run.shift.output',
    ]);
    expect(r.observations!.outside.run!.shift!.output).toMatch(/^namespace [0-4]\nhost [0-4]$/);
  });
});
