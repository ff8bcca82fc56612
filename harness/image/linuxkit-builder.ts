import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { EnvironmentError } from '../errors.ts';
import { ARCH, type Arch } from './arch.ts';
import { cachedImage, commitImage, describeFile, imageFileNames, openImageDir } from './cache.ts';
import { IMAGE_NAME, type BuiltImage, type ImageManifest } from './manifest.ts';
import type { ValidatedConfig } from './validate.ts';
import { sourceDigestInputs } from './files.ts';

export interface LinuxkitBuildOptions {
  arch: Arch;
  cacheRoot: string;
  log?: (line: string) => void;
}

/** The exact argv nslab gives the real LinuxKit CLI. Pure; the contract tests check it. */
export function linuxkitBuildArgv(configFile: string, outDir: string, arch: Arch): string[] {
  return [
    'build',
    '--format',
    'kernel+initrd',
    '--arch',
    ARCH[arch].deb,
    '--name',
    IMAGE_NAME,
    '--dir',
    outDir,
    configFile,
  ];
}

/**
 * Runs `linuxkit build --format kernel+initrd` (no Docker needed for that format) and collects its three
 * outputs into the cache. The digest covers the configuration text, its source files, the architecture and
 * the LinuxKit version, since LinuxKit pins every image by tag or digest inside the configuration.
 */
export async function buildLinuxkitImage(
  validated: ValidatedConfig,
  options: LinuxkitBuildOptions,
): Promise<BuiltImage> {
  const log = options.log ?? (() => {});
  const started = performance.now();
  const version = await execa('linuxkit', ['version'], { reject: false });
  if (version.exitCode !== 0) {
    throw new EnvironmentError(
      '--builder linuxkit: the linuxkit command is not installed or does not run',
      'install LinuxKit (https://github.com/linuxkit/linuxkit/releases, or brew install linuxkit/linuxkit/linuxkit), or use --builder debian',
    );
  }
  const digest = createHash('sha256')
    .update(
      JSON.stringify({
        builder: 'linuxkit',
        linuxkit: version.stdout.trim(),
        arch: options.arch,
        config: await readFile(validated.file, 'utf8'),
        sources: await sourceDigestInputs(validated.config, validated.file),
      }),
    )
    .digest('hex')
    .slice(0, 32);
  const hit = await cachedImage(options.cacheRoot, digest, log);
  if (hit) return hit;

  await mkdir(options.cacheRoot, { recursive: true });
  const tmp = await mkdtemp(join(options.cacheRoot, '.build-'));
  try {
    const argv = linuxkitBuildArgv(validated.file, tmp, options.arch);
    log(`image: linuxkit ${argv.join(' ')}`);
    const r = await execa('linuxkit', argv, { reject: false, all: true });
    if (r.exitCode !== 0) {
      throw new EnvironmentError(
        `linuxkit build failed (exit ${r.exitCode}): ${String(r.all).trim().split('\n').slice(-5).join('\n')}`,
        'run the same linuxkit build by hand to see the whole output',
      );
    }
    const names = imageFileNames();
    for (const f of Object.values(names)) {
      if (!existsSync(join(tmp, f)))
        throw new EnvironmentError(`linuxkit build did not produce ${f} in ${tmp}`);
    }
    const cmdline = (await readFile(join(tmp, names.cmdline), 'utf8')).trim();
    const manifest: ImageManifest = {
      schemaVersion: 1,
      digest,
      builder: 'linuxkit',
      arch: options.arch,
      config: validated.file,
      cmdline,
      packages: { linuxkit: version.stdout.trim() },
      files: {
        kernel: await describeFile(tmp, names.kernel),
        initrd: await describeFile(tmp, names.initrd),
        cmdline: await describeFile(tmp, names.cmdline),
      },
      buildTimeMs: Math.round(performance.now() - started),
      createdAt: new Date().toISOString(),
    };
    await writeFile(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const dir = await commitImage(tmp, options.cacheRoot, digest);
    return openImageDir(dir, false);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}
