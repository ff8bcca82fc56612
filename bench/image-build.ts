// Image build times: cold (empty image cache, warm package cache: offline), warm (cache hit), and sizes.
// Baselines measured in the same run: unpacking the same .deb files with dpkg-deb (the least a cold build
// must do) and sha256sum over the image's files (the least a verified cache hit must do).
// Usage: npm run bench:image [-- --runs 3]
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildImage } from '../harness/image/build.ts';
import { DEFAULT_IMAGE_CACHE, DEFAULT_LINUXKIT_YML } from '../harness/cli/paths.ts';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;
const debRoot = join(DEFAULT_IMAGE_CACHE, 'debian');
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const time = async (fn: () => Promise<unknown>) => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};
const mib = (n: number) => `${(n / 1048576).toFixed(2)} MiB`;

const work = mkdtempSync(join(tmpdir(), 'nslab-bench-image-'));
try {
  for (const arch of ['x86_64', 'aarch64'] as const) {
    const build = (cacheRoot: string) =>
      buildImage({ config: DEFAULT_LINUXKIT_YML, arch, builder: 'debian', cacheRoot, debRoot });
    const first = await build(join(work, 'warmup'));
    const debDir = join(debRoot, first.manifest.arch === 'x86_64' ? 'amd64' : 'arm64', 'debs');
    const debs = readdirSync(debDir).filter((f) =>
      Object.entries(first.manifest.packages).some(([n, v]) =>
        f.startsWith(`${n}_${v.replace(/:/g, '%3a')}_`),
      ),
    );
    const cold: number[] = [];
    const unpack: number[] = [];
    const warm: number[] = [];
    const hash: number[] = [];
    for (let i = 0; i < runs; i++) {
      cold.push(await time(() => build(join(work, `cold-${arch}-${i}`))));
      unpack.push(
        await time(() =>
          Promise.all(
            debs.map(async (d) => {
              const to = join(work, `unpack-${arch}-${i}`, d);
              await mkdir(to, { recursive: true });
              await execa('dpkg-deb', ['-x', join(debDir, d), to]);
            }),
          ),
        ),
      );
    }
    for (let i = 0; i < runs * 3; i++) {
      warm.push(await time(() => build(join(work, 'warmup'))));
      hash.push(await time(() => execa('sha256sum', [first.kernel, first.initrd])));
    }
    const f = first.manifest.files;
    console.log(`${arch}: runs ${runs} cold, ${runs * 3} warm (medians, ms)`);
    console.log(
      `  cold build        ${median(cold).toFixed(0).padStart(6)}   baseline dpkg-deb -x of its ${debs.length} packages ${median(unpack).toFixed(0)}   ratio ${(median(cold) / median(unpack)).toFixed(2)}`,
    );
    console.log(
      `  warm (cache hit)  ${median(warm).toFixed(0).padStart(6)}   baseline sha256sum kernel+initrd ${median(hash).toFixed(0)}   ratio ${(median(warm) / median(hash)).toFixed(2)}`,
    );
    console.log(
      `  kernel ${mib(f.kernel.size)}, initrd ${mib(f.initrd.size)} on disk, ${mib(f.initrd.unpackedSize ?? 0)} unpacked`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
