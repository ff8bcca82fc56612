import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findOnPath, skipNote } from '../../test/helpers/tools.ts';
import { platformFor } from './index.ts';
import { unmetPackages } from './installed.ts';
import { setupPlan, systemPackages } from './system-packages.ts';

// What `npm run setup` asks apt for, from the real package list, the real PATH lookup and a real runc; only
// dpkg's answer is made up (a dpkg-query first on PATH): runc's package is absent, as on a GitHub Ubuntu
// runner, whose runc came with Docker's containerd.io (which conflicts with that package, moby/moby#38185).
const linux = platformFor('linux');
const runc = systemPackages(linux, 'x86_64').runtime.find((p) => p.name === 'runc')!;
const realRunc = findOnPath('runc');
const dir = mkdtempSync(join(tmpdir(), 'nslab-installed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function script(path: string, body: string): void {
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
}

/** A PATH of one folder: a dpkg-query that has no runc package and, when given, a `runc`. */
function runnerPath(name: string, runcBody?: string): string {
  const bin = join(dir, name);
  mkdirSync(bin);
  script(join(bin, 'dpkg-query'), 'echo "dpkg-query: no packages found matching $3" >&2; exit 1');
  if (runcBody !== undefined) script(join(bin, 'runc'), runcBody);
  return bin;
}

const planFor = async (path: string) => {
  const missing = await unmetPackages(linux, [runc], { ...process.env, PATH: path });
  return { missing, plan: setupPlan({ platform: linux, missing, root: true, sudo: false }) };
};

describe('which packages setup installs: runc', () => {
  it.runIf(realRunc)(
    `real PATH lookup and runc, stand-in dpkg-query: a working runc on PATH that no runc package installed (Docker's) is met: apt is not asked for runc${skipNote(realRunc, 'no runc here')}`,
    async () => {
      const { missing, plan } = await planFor(runnerPath('docker-runc', `exec '${realRunc}' "$@"`));
      expect(missing).toEqual([]);
      expect(plan).toEqual({ commands: [], missing: [] });
    },
  );

  it('real PATH lookup, stand-in dpkg-query: no runc on PATH and no runc package: apt installs runc', async () => {
    const { missing, plan } = await planFor(runnerPath('no-runc'));
    expect(missing).toEqual(['runc']);
    expect('commands' in plan && plan.commands).toEqual([
      ['apt-get', 'update', '-q'],
      ['apt-get', 'install', '-y', '--no-install-recommends', 'runc'],
    ]);
  });

  it('real PATH lookup, stand-in dpkg-query: a runc on PATH that fails `runc --version` does not count: apt installs runc', async () => {
    const { missing } = await planFor(runnerPath('broken-runc', 'echo "runc: cannot run" >&2; exit 1'));
    expect(missing).toEqual(['runc']);
  });
});
