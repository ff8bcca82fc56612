import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectImage } from './helpers/image.ts';
import { skipNote } from './helpers/tools.ts';

const BIN = new URL('../bin/nslab.mjs', import.meta.url).pathname;
const FIXTURES = new URL('../../shared/fixtures/linuxkit/real/', import.meta.url).pathname;
const hasFixtures = existsSync(FIXTURES);
let dir: string;
const nslab = (args: string[]) => execa('node', [BIN, ...args], { reject: false, cwd: dir });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-cli-image-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('nslab image validate', () => {
  it('accepts linuxkit.yml by default', async () => {
    const r = await nslab(['image', 'validate']);
    expect(r.exitCode).toBe(0);
    expect(String(r.stdout)).toMatch(/^ok +.*linuxkit\.yml$/m);
  });

  it.runIf(hasFixtures)(
    `checks several files, reports each rejection with file:line:column, exits 2${skipNote(hasFixtures, `${FIXTURES} is absent (../shared is not beside this clone)`)}`,
    async () => {
      const good = join(FIXTURES, 'examples__sshd.yml');
      const bad = join(FIXTURES, 'test__cases__000_build__091_validate_linuxkit_yaml__linuxkit.yml');
      const r = await nslab(['image', 'validate', good, bad]);
      expect(r.exitCode).toBe(2);
      expect(String(r.stdout)).toContain(`ok    ${good}`);
      expect(String(r.stderr)).toContain(`error ${bad}:2:1: unknownField: unknown key "unknownField"`);
    },
  );
});

describe('nslab image ls and prune', () => {
  it('lists cached images newest first, and prune keeps the newest N', async () => {
    const img = await projectImage('x86_64');
    const cache = join(dir, 'cache');
    mkdirSync(cache);
    for (const [digest, createdAt] of <[string, string][]>[
      ['aaaaaaaaaaaa0000', '2026-01-01T00:00:00.000Z'],
      ['bbbbbbbbbbbb0000', '2026-06-01T00:00:00.000Z'],
    ]) {
      cpSync(img.dir, join(cache, digest), { recursive: true });
      const m = JSON.parse(readFileSync(join(cache, digest, 'manifest.json'), 'utf8'));
      writeFileSync(join(cache, digest, 'manifest.json'), JSON.stringify({ ...m, digest, createdAt }));
    }
    mkdirSync(join(cache, '.build-left-over'));
    const ls = await nslab(['image', 'ls', '--cache', cache]);
    expect(
      String(ls.stdout)
        .split('\n')
        .filter(Boolean)
        .map((l) => l.slice(0, 12)),
    ).toEqual(['bbbbbbbbbbbb', 'aaaaaaaaaaaa']);
    const prune = await nslab(['image', 'prune', '--keep', '1', '--cache', cache]);
    expect(String(prune.stdout)).toMatch(/removed aaaaaaaaaaaa0000, \.build-left-over/);
    expect(existsSync(join(cache, 'bbbbbbbbbbbb0000'))).toBe(true);
    expect(existsSync(join(cache, 'aaaaaaaaaaaa0000'))).toBe(false);
    expect((await nslab(['image', 'prune', '--keep', 'many', '--cache', cache])).exitCode).toBe(2);
  });
});
