import { execa } from 'execa';
import { findOnPath } from '../util/find-on-path.ts';
import type { SystemPackage } from './system-packages.ts';
import type { Platform } from './types.ts';

/** The command that says whether one package is installed (exit 0 and, for dpkg, "install ok installed"). */
function checkArgv(platform: Platform, name: string): string[] {
  switch (platform.packageManager.name) {
    case 'apt':
      return ['dpkg-query', '-W', '-f=${Status}', name];
    case 'brew':
      return ['brew', 'list', '--versions', name];
    case 'winget':
      return ['winget', 'list', '--id', name, '--exact', '--accept-source-agreements'];
  }
}

/** The packages of `names` that the host's package manager does not have installed. */
export async function missingPackages(
  platform: Platform,
  names: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string[]> {
  const missing: string[] = [];
  for (const name of names) {
    const [cmd, ...args] = checkArgv(platform, name);
    const r = await execa(cmd!, args, { reject: false, windowsHide: true, env });
    const ok =
      r.exitCode === 0 &&
      (platform.packageManager.name !== 'apt' || r.stdout.includes('install ok installed'));
    if (!ok) missing.push(name);
  }
  return missing;
}

/**
 * Whether a command on PATH from elsewhere meets the package's need (`orCommand`): found, and, with
 * `orCommandAnswers`, answering those arguments with exit 0 (a runc that runs `runc --version`).
 */
async function metByCommand(p: SystemPackage, platform: Platform, env: NodeJS.ProcessEnv): Promise<boolean> {
  const dirs = platform.pathDirs(env);
  for (const command of p.orCommand ?? []) {
    const found = findOnPath(platform.exe(command), dirs, platform);
    if (!found) continue;
    if (!p.orCommandAnswers) return true;
    const r = await execa(found, p.orCommandAnswers, {
      reject: false,
      windowsHide: true,
      env,
      timeout: 10_000,
    });
    if (r.exitCode === 0) return true;
  }
  return false;
}

/**
 * The names of the `wanted` packages that `npm run setup` must install: those the package manager lacks,
 * less those a command on PATH already meets (Docker CE's dockerd, Docker's runc, a snap's chromium).
 * `env` gives the PATH searched and the environment the package manager's query runs in.
 */
export async function unmetPackages(
  platform: Platform,
  wanted: readonly SystemPackage[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string[]> {
  const missing = await missingPackages(
    platform,
    wanted.map((p) => p.name),
    env,
  );
  const unmet: string[] = [];
  for (const name of missing) {
    const p = wanted.find((w) => w.name === name);
    if (!p || !(await metByCommand(p, platform, env))) unmet.push(name);
  }
  return unmet;
}
