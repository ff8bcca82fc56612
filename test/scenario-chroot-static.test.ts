import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { DEFAULT_SCENARIOS_DIR } from '../harness/cli/paths.ts';
import { findOnPath, skipNote } from './helpers/tools.ts';
import { runScenarioText, NOBODY } from './helpers/scenario-run.ts';

const FILE = join(DEFAULT_SCENARIOS_DIR, 'chroot-static.yaml');
const TEXT = readFileSync(FILE, 'utf8');
const COPY_DASH = 'mkdir "$r" && cp "$(command -v dash)" "$r/dash"';
const isRoot = process.getuid?.() === 0;

const run = (ctx: TestContext, text: string, prefix?: string[]) =>
  runScenarioText(ctx, FILE, text, { prefix });

/** The ELF interpreter (PT_INTERP) of a 64-bit little-endian program: the loader the kernel looks for. */
function elfInterpreter(file: string): string | undefined {
  const b = readFileSync(file);
  if (b.toString('latin1', 1, 4) !== 'ELF' || b[4] !== 2 || b[5] !== 1) return undefined;
  const phoff = Number(b.readBigUInt64LE(0x20));
  const size = b.readUInt16LE(0x36);
  for (let i = 0; i < b.readUInt16LE(0x38); i++) {
    const ph = phoff + i * size;
    if (b.readUInt32LE(ph) !== 3) continue;
    const offset = Number(b.readBigUInt64LE(ph + 8));
    return b.toString('latin1', offset, offset + Number(b.readBigUInt64LE(ph + 32))).replace(/\0+$/, '');
  }
  return undefined;
}

const dash = findOnPath('dash');
const loader = dash ? elfInterpreter(dash) : undefined;

describe('chroot-static on the native target', () => {
  it('passes here: dash alone in a root exits 127, busybox alone runs', async (ctx) => {
    const r = await run(ctx, TEXT);
    expect(r.status).toBe('pass');
    const o = r.observations!.inside.run!;
    expect(o.dynamicInRoot).toMatchObject({ exit: 127 });
    expect(o.staticInRoot).toMatchObject({ exit: 0, output: 'hello from busybox' });
  });

  it.runIf(isRoot)(
    `as nobody (rootless, chroot in a user namespace) it passes too${skipNote(isRoot, 'needs root to become nobody')}`,
    async (ctx) => {
      const r = await run(ctx, TEXT, NOBODY);
      expect(r.status).toBe('pass');
    },
  );

  it.runIf(loader)(
    `with its loader and libraries copied too, dash runs and the scenario fails${skipNote(loader, 'no dash with an ELF interpreter here')}`,
    async (ctx) => {
      const first = await run(ctx, TEXT);
      // The libraries it maps (after the program itself), and the loader at the path the kernel looks for.
      const mapped = first.observations!.inside.run!.dynamicMaps!.output.split('\n').slice(1);
      const files = [loader!, ...mapped].map((f) => `'${f}'`).join(' ');
      expect(TEXT).toContain(COPY_DASH);
      const withLibs = TEXT.replace(
        COPY_DASH,
        `${COPY_DASH} && for f in ${files}; do mkdir -p "$r\${f%/*}" && cp "$f" "$r$f" || exit 9; done`,
      );
      const r = await run(ctx, withLibs);
      expect(r.status).toBe('fail');
      expect(r.observations!.inside.run!.dynamicInRoot).toEqual({ exit: 0, output: 'hello from dash' });
      expect(r.expectations!.filter((e) => !e.ok).map((e) => e.that)).toEqual([
        'inside.run.dynamicRoot.output',
        'inside.run.dynamicInRoot.exit',
        'inside.run.dynamicInRoot.output',
      ]);
    },
  );
});
