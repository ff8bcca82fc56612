// .ci/start-dockerd, the part of .ci/run that starts the Docker daemon for the tests: real bash running the
// real script, with stand-in `docker` and `dockerd` on PATH (this machine's daemon is not touched).
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = new URL('../.ci/start-dockerd', import.meta.url).pathname;
const base = mkdtempSync(join(tmpdir(), 'nslab-ci-dockerd-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A bin folder with a `docker` that answers (or not) and a `dockerd` that records it was started. */
function bin(name: string, docker: 'answers' | 'never', dockerd: string) {
  const dir = join(base, name);
  const write = (file: string, body: string) => {
    writeFileSync(join(dir, file), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, file), 0o755);
  };
  mkdirSync(dir, { recursive: true });
  write(
    'docker',
    docker === 'answers' ? `[ "$1" = version ] && echo 'ci: dockerd 99.0 answers'; exit 0` : 'exit 1',
  );
  write('dockerd', `echo started >> '${dir}/dockerd-ran'\n${dockerd}`);
  return dir;
}
const run = (dir: string) =>
  execa('bash', [SCRIPT], {
    reject: false,
    env: { PATH: `${dir}:/usr/bin:/bin`, TMPDIR: dir, NSLAB_CI_DOCKERD_WAIT: '2' },
  });

describe('.ci/start-dockerd: CI fails when the daemon it starts does not answer', () => {
  it('a daemon that dies at once: exit 1, its log and the reason on stderr', async () => {
    const dir = bin(
      'dies',
      'never',
      `echo 'failed to start daemon: Devices cgroup is not mounted' >&2; exit 1`,
    );
    const r = await run(dir);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('failed to start daemon: Devices cgroup is not mounted');
    expect(r.stderr).toContain('ci: the Docker daemon started for the tests did not answer within 2 s');
  });
  it('a daemon that answers already: exit 0, nothing started', async () => {
    const dir = bin('up', 'answers', 'exit 1');
    const r = await run(dir);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(join(dir, 'dockerd-ran'))).toBe(false);
  });
});
