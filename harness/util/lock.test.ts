import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withLock } from './lock.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('withLock: a lock left by a killed build (bound: 2 s each)', () => {
  it('names a process that is gone: taken over at once', async () => {
    const lock = join(dir, '.lock');
    mkdirSync(lock);
    writeFileSync(join(lock, 'pid'), '2147483646');
    const t0 = performance.now();
    expect(await withLock(lock, async () => 'built')).toBe('built');
    expect(performance.now() - t0).toBeLessThan(2000);
  });
  it('has no pid file (killed between mkdir and writing it) and is old: taken over', async () => {
    const lock = join(dir, '.lock');
    mkdirSync(lock);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    const t0 = performance.now();
    expect(await withLock(lock, async () => 'built')).toBe('built');
    expect(performance.now() - t0).toBeLessThan(2000);
  });
  it('is held by a live process: waits, says so once, and goes on when it is released', async () => {
    const lock = join(dir, '.lock');
    mkdirSync(lock);
    writeFileSync(join(lock, 'pid'), String(process.pid));
    let waits = 0;
    setTimeout(() => rmSync(lock, { recursive: true, force: true }), 500);
    expect(
      await withLock(
        lock,
        async () => 'after',
        () => waits++,
      ),
    ).toBe('after');
    expect(waits).toBe(1);
  });
});
