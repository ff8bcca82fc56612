import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../harness/project-root.ts';
import { findOnPath, skipNote } from './helpers/tools.ts';

// npm test's pretest (`scripts/setup.ts --test --check`): with a package missing it stops at once, naming
// it and the command that installs it, instead of a minute of failing tests. To make `cpio` look missing
// without removing it, a dpkg-query placed first on PATH answers for it; every other package is asked of
// the real one.
const dir = mkdtempSync(join(tmpdir(), 'nslab-setup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const realDpkgQuery = findOnPath('dpkg-query');

const check = (path: string) =>
  execa('node', ['--import', 'tsx', 'scripts/setup.ts', '--test', '--check'], {
    cwd: PROJECT_ROOT,
    env: { PATH: path },
    reject: false,
  });

describe.skipIf(!realDpkgQuery)(
  `npm test's pretest${skipNote(realDpkgQuery, 'no dpkg-query: not a Debian host')}`,
  () => {
    it('says nothing and lets the tests run when every package is there', async () => {
      const r = await check(process.env.PATH!);
      expect([r.exitCode, r.stdout, r.stderr]).toEqual([0, '', '']);
    });

    it('stops with exit 3, the missing package, why it is needed and the command to install it', async () => {
      const fake = join(dir, 'dpkg-query');
      writeFileSync(
        fake,
        `#!/bin/sh\ncase "$3" in cpio | docker.io) false ;; *) true ;; esac || { echo "dpkg-query: no packages found matching cpio" >&2; exit 1; }\nexec ${realDpkgQuery} "$@"\n`,
      );
      chmodSync(fake, 0o755);
      const r = await check(`${dir}:${process.env.PATH}`);
      expect(r.exitCode).toBe(3);
      expect(r.stderr).toContain('cpio: reads back the initramfs archives nslab writes');
      expect(r.stderr).toContain('→ install them: npm run setup -- --test');
      // Only what is missing is named; docker.io, missing too, is met by a dockerd on PATH (Docker CE's).
      expect(r.stderr).not.toContain('util-linux');
      if (findOnPath('dockerd')) expect(r.stderr).not.toContain('docker.io');
      else expect(r.stderr).toContain('docker.io');
    });

    it('on a host without apt-get, checks nothing and lets the tests run (they skip what they lack)', async () => {
      const bare = join(dir, 'bare');
      mkdirSync(bare);
      symlinkSync(process.execPath, join(bare, 'node'));
      const r = await check(bare);
      expect([r.exitCode, r.stderr.trim()]).toEqual([
        0,
        'setup: no apt-get here: system packages not checked',
      ]);
    });
  },
);

// A GitHub Ubuntu runner: Docker from Docker's packages, whose containerd.io brings a runc and conflicts with
// the distribution's runc package (moby/moby#38185), so dpkg has no runc package. Made here with a PATH of one
// folder (so the system's runc is not on it): node, apt-get, a dpkg-query that has no runc package (every
// other package is asked of the real one) and, when the runner has it, a runc that runs the real one.
const realRunc = findOnPath('runc');
function runnerPath(name: string, runc?: string): string {
  const bin = join(dir, name);
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  symlinkSync(findOnPath('apt-get')!, join(bin, 'apt-get'));
  const dpkgQuery = join(bin, 'dpkg-query');
  writeFileSync(
    dpkgQuery,
    `#!/bin/sh\n[ "$3" = runc ] && { echo "dpkg-query: no packages found matching runc" >&2; exit 1; }\nexec ${realDpkgQuery} "$@"\n`,
  );
  chmodSync(dpkgQuery, 0o755);
  if (runc) {
    writeFileSync(join(bin, 'runc'), `#!/bin/sh\nexec '${runc}' "$@"\n`);
    chmodSync(join(bin, 'runc'), 0o755);
  }
  return bin;
}

describe.skipIf(!realDpkgQuery || !realRunc)(
  `setup --check on an Ubuntu runner whose runc is Docker's${skipNote(realDpkgQuery && realRunc, 'no dpkg-query or no runc here')}`,
  () => {
    it('real setup --check and runc, stand-in dpkg-query: a working runc on PATH that is not the runc package counts as met: nothing to install, exit 0', async () => {
      const r = await check(runnerPath('runner', realRunc));
      expect([r.exitCode, r.stdout, r.stderr]).toEqual([0, '', '']);
    });

    it('real setup --check, stand-in dpkg-query: with no runc anywhere it stops with exit 3, naming runc and the command to install it', async () => {
      const r = await check(runnerPath('runner-no-runc'));
      expect(r.exitCode).toBe(3);
      expect(r.stderr).toContain('  runc: --runtime runc');
      expect(r.stderr).toContain('→ install them: npm run setup -- --test');
    });
  },
);

describe('the test command', () => {
  it('is one command in the README, and the one .ci/run runs last', () => {
    const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
    const command = /Run the tests[^\n]*\n\n```sh\n([^\n]+)\n```/.exec(readme)?.[1];
    expect(command).toBe('npm run setup -- --test && npm test');
    const ci = readFileSync(join(PROJECT_ROOT, '.ci', 'run'), 'utf8')
      .trim()
      .split('\n');
    expect(ci.at(-1)).toBe(command);
  });
});
