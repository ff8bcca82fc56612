// Image build times, nslab's own Debian fetcher against the apt-get + dpkg-deb builder it replaced, side by
// side in one run (interleaved, medians). The baseline is the real old code: the last commit with the apt
// builder, checked out in a git worktree (with this clone's node_modules) and bundled the same way.
//
//   first run   empty image cache and empty package cache: indices and packages fetched, image built
//   cold        empty image cache, package cache kept: offline, unpack and assemble only
//   warm        the image is in the cache (a cache hit): what every later run pays
//
// Aims (exit 1 when one is missed): a first run and a cold build no slower than the old builder's, and a
// warm build within 0.5 s. It also checks that both builders produce the same image digest.
// Usage: npm run bench:image [-- --runs 3 --arch x86_64]   (needs git, network, and apt-get for the baseline)
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../harness/project-root.ts';

/** The last commit whose debian builder drove the host's apt-get and dpkg-deb. */
const OLD_BUILDER_COMMIT = '23d5fc741f42cbaa252f17ed8480c08176174b6f';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const runs = Number(arg('runs', '3'));
const arch = arg('arch', 'x86_64');
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

const work = mkdtempSync(join(tmpdir(), 'nslab-bench-image-'));
const old = join(work, 'old');
try {
  await execa('git', ['-C', PROJECT_ROOT, 'worktree', 'add', '--detach', old, OLD_BUILDER_COMMIT]);
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(old, 'node_modules'));
  // Both bundled, so that neither pays tsx's start.
  await execa('node', ['scripts/build.mjs'], { cwd: old });
  await execa('node', ['scripts/build.mjs'], { cwd: PROJECT_ROOT });
  const builders = { old, new: PROJECT_ROOT } as const;

  /** One `nslab image build` of `root`'s CLI into `cache`: its wall time and the image's digest. */
  const build = async (root: string, cache: string) => {
    const t0 = performance.now();
    const r = await execa('node', [join(root, 'bin', 'nslab.mjs'), 'image', 'build', '--builder', 'debian', '--arch', arch, '--cache', cache, '--json'], { env: { CI: '1' } }); // prettier-ignore
    return { ms: performance.now() - t0, digest: JSON.parse(r.stdout).digest as string };
  };
  /** Removes the images of a cache and keeps its package cache (apt/ or debian/). */
  const dropImages = (cache: string) => {
    for (const f of readdirSync(cache))
      if (/^[0-9a-f]{32}$/.test(f)) rmSync(join(cache, f), { recursive: true });
  };

  const times = {
    old: { first: [] as number[], cold: [] as number[], warm: [] as number[] },
    new: { first: [] as number[], cold: [] as number[], warm: [] as number[] },
  };
  const digests = new Set<string>();
  for (let i = 0; i < runs; i++) {
    for (const who of (i % 2 === 0 ? ['old', 'new'] : ['new', 'old']) as ('old' | 'new')[]) {
      const cache = join(work, `${who}-${i}`);
      const first = await build(builders[who], cache);
      times[who].first.push(first.ms);
      digests.add(first.digest);
      dropImages(cache);
      times[who].cold.push((await build(builders[who], cache)).ms);
      for (let w = 0; w < 3; w++) times[who].warm.push((await build(builders[who], cache)).ms);
      rmSync(cache, { recursive: true, force: true });
    }
  }

  const row = (label: string, k: 'first' | 'cold' | 'warm') => {
    const o = median(times.old[k]);
    const n = median(times.new[k]);
    console.log(
      `  ${label.padEnd(34)} old ${o.toFixed(0).padStart(6)} ms   new ${n.toFixed(0).padStart(6)} ms   ratio ${(n / o).toFixed(2)}`,
    );
    return { o, n };
  };
  console.log(
    `${arch}: ${runs} runs each, interleaved (medians; the new fetcher against apt-get + dpkg-deb at ${OLD_BUILDER_COMMIT.slice(0, 7)})`,
  );
  const first = row('first run (fetch + build)', 'first');
  const cold = row('cold (packages cached, offline)', 'cold');
  const warm = row(`warm (cache hit, ${runs * 3} runs)`, 'warm');
  console.log(
    `  image digest: ${digests.size === 1 ? `the same from both builders (${[...digests][0]})` : `DIFFERS: ${[...digests].join(' ')}`}`,
  );
  const missed = [
    first.n > first.o && `first run: ${first.n.toFixed(0)} ms > the old builder's ${first.o.toFixed(0)} ms`,
    cold.n > cold.o && `cold build: ${cold.n.toFixed(0)} ms > the old builder's ${cold.o.toFixed(0)} ms`,
    warm.n > 500 && `warm build: ${warm.n.toFixed(0)} ms > 500 ms`,
    digests.size !== 1 && 'the two builders made different images',
  ].filter(Boolean);
  for (const m of missed) console.log(`  aim missed: ${m}`);
  if (missed.length > 0) process.exitCode = 1;
} finally {
  if (existsSync(old))
    await execa('git', ['-C', PROJECT_ROOT, 'worktree', 'remove', '--force', old], { reject: false });
  rmSync(work, { recursive: true, force: true });
}
