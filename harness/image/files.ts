import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { stringify } from 'yaml';
import { IMAGE_SECTIONS } from './linuxkit-schema.ts';
import type { LinuxkitConfig } from './linuxkit-config.ts';
import type { CpioEntry } from './cpio.ts';

/** A uid/gid as LinuxKit resolves it: a number, "root", or the name of a container (100, 101, ... in order). */
export function numericId(value: string | number | undefined, config: LinuxkitConfig): number {
  if (value === undefined || value === '' || value === 'root') return 0;
  if (typeof value === 'number') return value;
  const names = IMAGE_SECTIONS.flatMap((s) => (config[s] ?? []).map((i) => i.name));
  const index = names.indexOf(value);
  return index >= 0 ? 100 + index : 0;
}

function sourcePath(source: string, configFile: string): string {
  if (source.startsWith('~/')) return resolve(homedir(), source.slice(2));
  return resolve(dirname(configFile), source);
}

/**
 * The `files` section as initramfs entries, with LinuxKit's semantics: default mode 0600 (0700 for
 * directories), parent directories created with the execute bits the mode implies, `metadata` is the
 * configuration itself as json or yaml, `source` is read relative to the configuration file, an
 * `optional` source that is absent is left out.
 */
export async function filesEntries(config: LinuxkitConfig, configFile: string): Promise<CpioEntry[]> {
  const out: CpioEntry[] = [];
  const seen = new Set<string>();
  for (const f of config.files ?? []) {
    const path = f.path.replace(/^\/+/, '');
    const mode = f.mode ? parseInt(f.mode, 8) : f.directory ? 0o700 : 0o600;
    const uid = numericId(f.uid, config);
    const gid = numericId(f.gid, config);
    let dirMode = mode;
    if (dirMode & 0o700) dirMode |= 0o100;
    if (dirMode & 0o070) dirMode |= 0o010;
    if (dirMode & 0o007) dirMode |= 0o001;
    let data: Uint8Array | string | undefined = f.contents;
    if (!f.directory && !f.symlink && f.contents === undefined) {
      if (f.source) {
        const p = sourcePath(f.source, configFile);
        if (!existsSync(p) && f.optional) continue;
        data = await readFile(p);
      } else if (f.metadata) {
        data = f.metadata === 'json' ? JSON.stringify(config, null, 4) : stringify(config);
      }
    }
    const parts = path.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!seen.has(dir)) {
        out.push({ path: dir, type: 'dir', mode: dirMode, uid, gid });
        seen.add(dir);
      }
    }
    seen.add(path);
    if (f.directory) out.push({ path, type: 'dir', mode, uid, gid });
    else if (f.symlink) out.push({ path, type: 'symlink', mode: 0o777, uid, gid, data: f.symlink });
    else out.push({ path, type: 'file', mode, uid, gid, data: data ?? '' });
  }
  return out;
}

/** The bytes of every `source` file, for the image digest: a changed source must rebuild the image. */
export async function sourceDigestInputs(
  config: LinuxkitConfig,
  configFile: string,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of config.files ?? []) {
    if (!f.source) continue;
    const p = sourcePath(f.source, configFile);
    out[f.source] = existsSync(p)
      ? createHash('sha256')
          .update(await readFile(p))
          .digest('hex')
      : 'absent';
  }
  return out;
}
