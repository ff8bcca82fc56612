#!/usr/bin/env zx
// End-to-end cost of `nslab scenario pid-ns --target engine` against the seed's own method on the same
// engine: one `docker run` of the same one-file image printing its PID and `uname -a`, then `docker inspect`
// of its host PID, the two steps the article takes by hand. Medians over interleaved runs and their ratio.
// The engine is whatever the docker CLI talks to (DOCKER_HOST, the current context): a native dockerd here,
// nslab engine up's VM with DOCKER_HOST set. Usage: npm run bench:engine [-- --runs 7]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argv } from 'zx';
import { $, interleaved, median } from './stats.mjs';

const runs = Number(argv.runs ?? 7);
const work = mkdtempSync(join(tmpdir(), 'nslab-bench-engine-'));
$.verbose = false;
$.quiet = true;
try {
  await $`node scripts/build.mjs`;
  // One run first: it imports the one-file image into the engine (once per engine), which the floor reuses.
  const first = JSON.parse(
    (await $`node bin/nslab.mjs scenario pid-ns --target engine --json --report-dir ${join(work, 'r')}`)
      .stdout,
  );
  const t = first.targets[0];
  if (t.status !== 'ready' || t.scenarios[0].status !== 'pass')
    throw new Error(
      `scenario pid-ns --target engine did not pass here: ${t.reason ?? t.scenarios[0].status} ${t.detail ?? ''}`,
    );
  const image = (await $`docker image ls --format {{.Repository}}:{{.Tag}} nslab-engine-root`).stdout
    .trim()
    .split('\n')[0];
  const name = `nslab-bench-${process.pid}`;
  const times = await interleaved(
    {
      floor: async () => {
        // Detached, so that inspect sees it running; it prints, then waits to be looked at.
        await $`docker run -d --rm --pull=never --name ${name} ${image} /bin/sh -c ${'echo $$; uname -a; sleep 5'}`;
        await $`docker inspect -f {{.State.Pid}} ${name}`;
        await $`docker logs ${name}`;
        await $`docker rm -f ${name}`;
      },
      nslab: () =>
        $`node bin/nslab.mjs scenario pid-ns --target engine --json --report-dir ${join(work, 'r')}`,
    },
    runs,
  );
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  console.log(`engine: ${t.engine.name} (${t.engine.runsIn}), ${t.engine.serverVersion}`);
  console.log(`runs per case: ${runs} (medians, ms)`);
  console.log(
    `  floor  docker run (PID, uname -a), docker inspect .State.Pid, logs, rm   ${m.floor.toFixed(0)}`,
  );
  console.log(
    `  nslab  scenario pid-ns --target engine --json                           ${m.nslab.toFixed(0)}`,
  );
  console.log(
    `ratio nslab/floor: ${(m.nslab / m.floor).toFixed(2)}; nslab - floor: ${(m.nslab - m.floor).toFixed(0)} ms`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
