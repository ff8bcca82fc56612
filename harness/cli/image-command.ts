import { join } from 'node:path';
import { statusLine } from '../util/status-line.ts';
import { SnapshotStore } from '../vm/snapshot-store.ts';
import { Command, Option } from 'commander';
import { ExitCode, NslabError } from '../errors.ts';
import {
  BUILDERS,
  buildImage,
  hostArch,
  listImages,
  parseArch,
  pruneImages,
  validateLinuxkitFile,
  type BuilderChoice,
} from '../image/index.ts';
import { LinuxkitConfigError } from '../image/validate.ts';
import type { CliState } from './cli-state.ts';
import { DEFAULT_IMAGE_CACHE, DEFAULT_LINUXKIT_YML } from './paths.ts';

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

export function registerImageCommands(program: Command, state: CliState): void {
  const image = program
    .command('image')
    .description('validate linuxkit.yml and build the VM image (kernel + initrd + cmdline)');

  image
    .command('validate')
    .description("check LinuxKit configurations against LinuxKit's schema and build-time rules")
    .argument('[files...]', 'configuration files', [DEFAULT_LINUXKIT_YML])
    .action(async (files: string[]) => {
      let bad = 0;
      for (const file of files) {
        try {
          await validateLinuxkitFile(file);
          process.stdout.write(`ok    ${file}\n`);
        } catch (error) {
          if (!(error instanceof NslabError)) throw error;
          bad++;
          const lines =
            error instanceof LinuxkitConfigError ? error.errors.map((e) => e.message) : [error.message];
          process.stderr.write(`${lines.map((l) => `error ${l}`).join('\n')}\n`);
        }
      }
      state.exitCode = bad > 0 ? ExitCode.usage : ExitCode.ok;
    });

  image
    .command('build')
    .description('build the VM image from linuxkit.yml, or reuse it from the cache when nothing changed')
    .option('-c, --config <file>', 'the LinuxKit configuration', DEFAULT_LINUXKIT_YML)
    .option('--arch <arch>', 'guest architecture: x86_64 or aarch64', hostArch())
    .addOption(
      new Option(
        '--builder <builder>',
        'linuxkit (the real tool), debian (offline from Debian packages), or auto',
      )
        .choices(BUILDERS)
        .default('auto'),
    )
    .option(
      '--image <dir>',
      'use this kernel + initrd + cmdline (with its manifest.json) instead of building',
    )
    .option('--cache <dir>', 'the image cache', DEFAULT_IMAGE_CACHE)
    .option(
      '--refresh',
      "debian builder: fetch Debian's package indices again first (else they are fetched once, then used offline)",
    )
    .option('--json', 'print the manifest as JSON')
    .action(
      async (o: {
        config: string;
        arch: string;
        builder: BuilderChoice;
        image?: string;
        cache: string;
        refresh?: boolean;
        json?: boolean;
      }) => {
        const t0 = performance.now();
        const built = await buildImage({
          config: o.config,
          arch: parseArch(o.arch),
          builder: o.builder,
          cacheRoot: o.cache,
          imageDir: o.image,
          refresh: o.refresh,
          log: (l) => process.stderr.write(`nslab: ${l}\n`),
          status: statusLine(),
        });
        if (o.json)
          return void process.stdout.write(
            `${JSON.stringify({ ...built.manifest, dir: built.dir, cacheHit: built.cacheHit }, null, 2)}\n`,
          );
        const m = built.manifest;
        process.stdout.write(
          [
            `${built.cacheHit ? 'cache hit' : 'built'}: ${built.dir} (${Math.round(performance.now() - t0)} ms)`,
            `  builder ${m.builder}, ${m.arch}${m.kernelVersion ? `, kernel ${m.kernelVersion}` : ''}`,
            `  kernel  ${built.kernel} (${mib(m.files.kernel.size)})`,
            `  initrd  ${built.initrd} (${mib(m.files.initrd.size)}${m.files.initrd.unpackedSize ? `, ${mib(m.files.initrd.unpackedSize)} unpacked` : ''})`,
            `  cmdline ${built.cmdline}`,
            '',
          ].join('\n'),
        );
      },
    );

  image
    .command('ls')
    .description('list cached images, newest first, with their saved guests (snapshots)')
    .option('--cache <dir>', 'the image cache', DEFAULT_IMAGE_CACHE)
    .action(async (o: { cache: string }) => {
      for (const m of await listImages(o.cache)) {
        const { snapshots, bytes } = await new SnapshotStore(join(o.cache, m.digest)).list();
        const snaps = `${snapshots.length} snapshot${snapshots.length === 1 ? '' : 's'}${bytes ? ` (${mib(bytes)})` : ''}`;
        process.stdout.write(
          `${m.digest.slice(0, 12)}  ${m.builder.padEnd(8)} ${m.arch.padEnd(8)} ${(m.kernelVersion ?? '').padEnd(24)} ${mib(m.files.initrd.size).padStart(9)}  ${m.createdAt}  ${snaps}\n`,
        );
      }
    });

  image
    .command('prune')
    .description(
      'remove cached images except the newest ones, every saved guest (snapshot; the next cold boot saves one again), and leftovers of interrupted builds',
    )
    .option('--keep <n>', 'how many images to keep', '2')
    .option('--cache <dir>', 'the image cache', DEFAULT_IMAGE_CACHE)
    .action(async (o: { keep: string; cache: string }) => {
      const keep = Number(o.keep);
      if (!Number.isInteger(keep) || keep < 0)
        throw new NslabError(`--keep ${JSON.stringify(o.keep)} is not a whole number`, {
          exitCode: ExitCode.usage,
        });
      const removed = await pruneImages(o.cache, keep);
      let snapshots = 0;
      for (const m of await listImages(o.cache))
        snapshots += await new SnapshotStore(join(o.cache, m.digest)).clear();
      if (snapshots) removed.push(`${snapshots} snapshot${snapshots === 1 ? '' : 's'}`);
      process.stdout.write(removed.length ? `removed ${removed.join(', ')}\n` : 'nothing to remove\n');
    });
}
