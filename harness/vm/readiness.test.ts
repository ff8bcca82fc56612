import { describe, expect, it } from 'vitest';
import type { ImageManifest } from '../image/manifest.ts';
import { ConsoleLog } from './console-log.ts';
import { PHASE_TEXT } from './phases.ts';
import {
  consoleMarker,
  readinessChecks,
  readyMarkerOf,
  secretsHandover,
  type ReadinessContext,
} from './readiness.ts';

const manifest = (m: Partial<ImageManifest>) => ({ builder: 'linuxkit', ...m }) as ImageManifest;

describe('readiness as data', () => {
  it('the console marker is the manifest’s; a debian cache from before the field waits for "nslab: ready"', () => {
    expect(readyMarkerOf(manifest({ builder: 'debian' }))).toBe('nslab: ready');
    expect(readyMarkerOf(manifest({ builder: 'debian', readyMarker: 'init: up' }))).toBe('init: up');
    expect(readyMarkerOf(manifest({ builder: 'linuxkit', readyMarker: 'init: up' }))).toBe('init: up');
    expect(readyMarkerOf(manifest({ builder: 'linuxkit' }))).toBeUndefined();
    expect(readyMarkerOf(manifest({ builder: 'external' }))).toBeUndefined();
  });

  it('waits for the marker (or, without one, the SSH banner), then a login: each a boot phase with a hint', () => {
    const names = (m: Partial<ImageManifest>) => readinessChecks(manifest(m)).map((c) => c.name);
    expect(names({ builder: 'debian' })).toEqual(['guestReady', 'firstCommand']);
    expect(names({ builder: 'linuxkit' })).toEqual(['sshBanner', 'firstCommand']);
    // With the keys channel, SSH connects as soon as the keys are in place; the command waits for ready.
    const withKeys = (m: Partial<ImageManifest>) =>
      readinessChecks(
        manifest(m),
        secretsHandover(async () => {}),
      ).map((c) => c.name);
    expect(withKeys({ builder: 'debian' })).toEqual([
      'secretsSent',
      'secretsReceived',
      'guestReady',
      'firstCommand',
    ]);
    expect(withKeys({ builder: 'linuxkit' })).toEqual(['secretsSent', 'sshBanner', 'firstCommand']);
    for (const c of readinessChecks(manifest({ builder: 'debian' }))) {
      expect(PHASE_TEXT[c.name]).toBeDefined();
      expect(c.hint).toMatch(/--boot-timeout/);
    }
    // The words of today's messages: `no "nslab: ready" on the console within 120 s`.
    expect(readinessChecks(manifest({ builder: 'debian' })).map((c) => c.description)).toEqual([
      '"nslab: ready" on the console',
      'SSH login',
    ]);
  });

  it('the marker check passes once a console line holds the marker', () => {
    const consoleLog = new ConsoleLog('/nonexistent');
    const ctx = { consoleLog } as unknown as ReadinessContext;
    const check = consoleMarker('nslab: ready');
    expect(check.check(ctx)).toBe(false);
    consoleLog.lines.push('[    1.2] nslab: ready (sshd on :22)');
    expect(check.check(ctx)).toBe(true);
  });
});
