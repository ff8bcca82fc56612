import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../harness/project-root.ts';
import { projectImage } from './helpers/image.ts';
import { findOnPath, skipNote } from './helpers/tools.ts';

// The proof that a host without Debian's tools (a Mac, a Windows PC, an Ubuntu runner) gets the same image:
// on this machine, in a private mount namespace where apt-get, apt-cache, dpkg and dpkg-deb are bind-mounted
// over by a script that fails, `nslab scenario pid-ns --target vm` builds the image from an empty cache,
// boots it and passes; the image is the one the project's cache holds, digest for digest.
const isRoot = process.getuid?.() === 0;
const runs = isRoot && findOnPath('unshare') !== undefined && findOnPath('qemu-system-x86_64') !== undefined;
const TOOLS = ['apt-get', 'apt-cache', 'dpkg', 'dpkg-deb']
  .map((t) => findOnPath(t))
  .filter((p): p is string => p !== undefined);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-no-apt-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(runs)(
  `a host without apt-get or dpkg-deb${skipNote(runs, 'needs root (a private mount namespace), unshare and qemu-system-x86_64')}`,
  () => {
    it('builds the image from an empty cache, boots it and passes pid-ns; the digest is the usual one', async () => {
      const fail = join(dir, 'gone.sh');
      writeFileSync(fail, '#!/bin/sh\necho "$0: not on this host (nslab test)" >&2\nexit 127\n', {
        mode: 0o755,
      });
      const cache = join(dir, 'cache');
      // Paths reach the script as positional parameters, never as shell text.
      const script = [
        'fail=$1; shift; n=$1; shift',
        'i=0; while [ "$i" -lt "$n" ]; do mount --bind "$fail" "$1" || exit 99; shift; i=$((i+1)); done',
        'for t in apt-get dpkg-deb; do if command -v "$t" > /dev/null && "$t" --version > /dev/null 2>&1; then echo "$t still works" >&2; exit 98; fi; done',
        'exec "$@"',
      ].join('\n');
      const r = await execa(
        'unshare',
        ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', fail, String(TOOLS.length), ...TOOLS,
          process.execPath, join(PROJECT_ROOT, 'bin', 'nslab.mjs'), 'scenario', 'pid-ns', '--target', 'vm', '--arch', 'x86_64',
          '--cache', cache, '--report-dir', join(dir, 'reports'), '--no-snapshot', '--json'],
        { reject: false, env: { CI: '1' } },
      ); // prettier-ignore
      expect(r.stderr).not.toMatch(/still works/);
      expect(TOOLS.length).toBeGreaterThanOrEqual(2); // apt-get and dpkg-deb are there to hide on Debian
      expect(r.exitCode, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout);
      const vm = report.targets.find((t: { kind: string }) => t.kind === 'vm');
      expect(vm.scenarios.map((s: { name: string; status: string }) => [s.name, s.status])).toEqual([
        ['pid-ns', 'pass'],
      ]);
      expect(r.stderr).toMatch(/debian: downloading 23 amd64 packages/);
      const built = readdirSync(cache).filter((f) => /^[0-9a-f]{32}$/.test(f));
      expect(built).toEqual([(await projectImage('x86_64')).manifest.digest]);
    }, 300_000);
  },
);
