import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { execa } from 'execa';
import type { KernelIdentity } from '../vocabulary.ts';

// Facts about the real machine that several targets put in their reports (the layer below a VM, WSL or an
// engine's VM), asked once per process.

/** `uname -a` where there is one; on Windows the same facts from Node. */
export function hostUname(platform: NodeJS.Platform = process.platform): Promise<string> {
  // Asked for by several layers of one run (native target, vm target, the report): one process is enough.
  let answer = unameCache.get(platform);
  if (!answer) {
    answer = (async () => {
      if (platform !== 'win32') {
        const r = await execa('uname', ['-a'], { reject: false });
        if (r.exitCode === 0) return r.stdout.trim();
      }
      return `${os.type()} ${os.hostname()} ${os.release()} ${os.version()} ${os.machine()}`;
    })();
    unameCache.set(platform, answer);
  }
  return answer;
}
const unameCache = new Map<string, Promise<string>>();

/**
 * The real machine's model, for the report's host layer: `hw.model` on macOS (e.g. Mac14,2), the DMI
 * product name on Linux; undefined where neither answers (Windows, containers without DMI).
 */
export async function hostModel(platform: NodeJS.Platform = process.platform): Promise<string | undefined> {
  if (platform === 'darwin') {
    const r = await execa('sysctl', ['-n', 'hw.model'], { reject: false });
    return r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
  }
  if (platform === 'linux') {
    const text = await readFile('/sys/devices/virtual/dmi/id/product_name', 'utf8').catch(() => '');
    return text.trim() || undefined;
  }
  return undefined;
}

/** The real host's kernel, as Node reads it (uname -s -r -v -m on Linux and macOS). */
export const hostKernel = (): KernelIdentity => ({
  name: os.type(),
  release: os.release(),
  version: os.version(),
  machine: os.machine(),
});
