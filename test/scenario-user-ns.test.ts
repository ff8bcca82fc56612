import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { DEFAULT_SCENARIOS_DIR } from '../harness/cli/paths.ts';
import { skipNote } from './helpers/tools.ts';
import { runScenarioText, NOBODY } from './helpers/scenario-run.ts';

const FILE = join(DEFAULT_SCENARIOS_DIR, 'user-ns.yaml');
const TEXT = readFileSync(FILE, 'utf8');
const ISOLATE = 'namespaces: [user]';
const isRoot = process.getuid?.() === 0;

const run = (ctx: TestContext, text: string, prefix?: string[], needsRootAccess = false) =>
  runScenarioText(ctx, FILE, text, { prefix, needsRootAccess });

describe('user-ns on the native target', () => {
  it('passes here: uid 0 inside, mapped to the caller', async (ctx) => {
    const r = await run(ctx, TEXT);
    expect(r.status).toBe('pass');
    expect(r.observations!.outside.run!.mappedTo!.output).toBe(String(process.getuid?.()));
  });

  it.runIf(isRoot)(
    `as nobody, uid 0 inside is 65534 outside, and the scenario says so${skipNote(isRoot, 'needs root to become nobody')}`,
    async (ctx) => {
      const r = await run(ctx, TEXT, NOBODY);
      expect(r.status).toBe('pass');
      const o = r.observations!;
      expect(o.inside.run!.id!.output).toMatch(/^uid=0\(/);
      expect(o.outside.run!.caller!.output).toBe('65534');
      expect(o.outside.run!.uidMap!.output).toMatch(/^ *0 +65534 +1$/);
      expect(o.outside.run!.hostUid!.output).toBe('65534');
    },
  );

  it('without a user namespace, root stays the host root and the map checks fail', async (ctx) => {
    expect(TEXT).toContain(ISOLATE);
    const r = await run(ctx, TEXT.replace(ISOLATE, 'namespaces: [uts]'), undefined, true);
    expect(r.status).toBe('fail');
    expect(r.expectations!.filter((e) => !e.ok).map((e) => e.that)).toEqual([
      'inside.ns.user',
      'outside.run.uidMap.output',
    ]);
    // The initial user namespace maps every uid to itself.
    expect(r.observations!.outside.run!.uidMap!.output).toMatch(/^ *0 +0 +4294967295$/);
  });
});
