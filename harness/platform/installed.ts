import { execa } from 'execa';
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
export async function missingPackages(platform: Platform, names: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const name of names) {
    const [cmd, ...args] = checkArgv(platform, name);
    const r = await execa(cmd!, args, { reject: false, windowsHide: true });
    const ok =
      r.exitCode === 0 &&
      (platform.packageManager.name !== 'apt' || r.stdout.includes('install ok installed'));
    if (!ok) missing.push(name);
  }
  return missing;
}
