// Contract tests of what the macOS probes run (no macOS here): stand-in `sysctl` and `codesign` on PATH
// record their argv and answer as an M4, an M1 or an Intel Mac would.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { platformFor } from '../platform/index.ts';
import { probeAccelerators } from './probe-accel.ts';

let dir: string;
let path: string | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-probe-'));
  path = process.env.PATH;
  process.env.PATH = `${dir}:${path}`;
});
afterEach(() => {
  process.env.PATH = path;
  rmSync(dir, { recursive: true, force: true });
});

/** A stand-in `sysctl` that knows the given names (anything else: "unknown oid", exit 1, as macOS says). */
function sysctl(values: Record<string, string>) {
  const cases = Object.entries(values)
    .map(([k, v]) => `  ${k}) echo ${v} ;;`)
    .join('\n');
  writeFileSync(
    join(dir, 'sysctl'),
    `#!/bin/sh\necho "$*" >> '${dir}/calls'\ncase "$2" in\n${cases}\n  *) echo "sysctl: unknown oid '$2'" >&2; exit 1 ;;\nesac\n`,
  );
  writeFileSync(join(dir, 'codesign'), `#!/bin/sh\necho "codesign $*" >> '${dir}/calls'\nexit 1\n`);
  chmodSync(join(dir, 'sysctl'), 0o755);
  chmodSync(join(dir, 'codesign'), 0o755);
}
const calls = () => readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n');

describe('probeAccelerators on macOS (contract: stand-in sysctl)', () => {
  it('an M4 (FEAT_SME 1): hvf, and sme recorded for the -cpu choice', async () => {
    sysctl({ 'kern.hv_support': '1', 'hw.optional.arm.FEAT_SME': '1' });
    const p = await probeAccelerators(
      platformFor('darwin'),
      '/opt/homebrew/bin/qemu-system-aarch64',
      'aarch64',
    );
    expect(p).toMatchObject({ hvf: true, sme: true });
    expect(calls()).toEqual([
      '-n kern.hv_support',
      'codesign -d --entitlements - --xml /opt/homebrew/bin/qemu-system-aarch64',
      '-n hw.optional.arm.FEAT_SME',
    ]);
  });
  it('an M1 (FEAT_SME 0): sme false', async () => {
    sysctl({ 'kern.hv_support': '1', 'hw.optional.arm.FEAT_SME': '0' });
    expect((await probeAccelerators(platformFor('darwin'), undefined, 'aarch64')).sme).toBe(false);
  });
  it('an Intel Mac (no such sysctl): sme unset', async () => {
    sysctl({ 'kern.hv_support': '1' });
    const p = await probeAccelerators(platformFor('darwin'), undefined, 'x86_64');
    expect(p.hvf).toBe(true);
    expect(p).not.toHaveProperty('sme');
  });
});
