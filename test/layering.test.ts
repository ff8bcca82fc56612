import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The real checker with the project's own config, run on a small fixture tree that breaks the rules on purpose.
const ROOT = new URL('..', import.meta.url).pathname;
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules/.bin/depcruise');
let dir: string;

const FIXTURE: Record<string, string> = {
  'harness/vocabulary.ts': `export type TargetKind = 'native' | 'vm';\n`,
  // Allowed: targets → base, scenario → targets.
  'harness/targets/types.ts': `import type { TargetKind } from '../vocabulary.ts';\nexport type Target = { kind: TargetKind };\n`,
  'harness/scenario/run.ts': `import type { Target } from '../targets/types.ts';\nexport type Result = { on: Target };\n`,
  // Against the flow: a target reaching up into scenario.
  'harness/targets/native.ts': `import type { Result } from '../scenario/run.ts';\nexport const r: Result[] = [];\n`,
  // A cycle made of type-only imports, as main.ts ↔ *-command.ts was.
  'harness/cli/main.ts': `import type { Opts } from './command.ts';\nexport type State = { opts?: Opts };\n`,
  'harness/cli/command.ts': `import type { State } from './main.ts';\nexport type Opts = { state?: State };\n`,
  // Tests may import anything.
  'harness/targets/native.test.ts': `import { r } from './native.ts';\nimport type { State } from '../cli/main.ts';\nexport const s: State | typeof r = r;\n`,
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-layering-'));
  for (const [path, text] of Object.entries(FIXTURE)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  copyFileSync(join(ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('layering (dependency-cruiser with .dependency-cruiser.cjs)', () => {
  it('a fixture with a type-only cycle and an import against the flow fails, naming both rules', async () => {
    const r = await execa(DEPCRUISE, ['--config', CONFIG, 'harness'], { cwd: dir, reject: false, all: true });
    const out = String(r.all);
    expect(r.exitCode, out).not.toBe(0);
    expect(out).toMatch(/error no-circular: harness\/cli\/(main|command)\.ts/);
    expect(out).toMatch(
      /error layer-targets-imports-above: harness\/targets\/native\.ts → harness\/scenario\/run\.ts/,
    );
    // Exactly those two: the allowed edges and the test file are not reported.
    expect(out).toMatch(/x 2 dependency violations/);
  });

  it('the real tree passes `npm run lint:layers`', async () => {
    const r = await execa('npm', ['run', '-s', 'lint:layers'], { cwd: ROOT, reject: false, all: true });
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(String(r.all)).toContain('no dependency violations found');
  });
});
