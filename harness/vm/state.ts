import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { alive } from '../util/process.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { commandLineSource, looksLikeOurQemu } from './cleanup.ts';
import type { Accel } from './accel.ts';
import type { QmpAddress } from './qmp.ts';

/** state.json in a VM's run folder: enough for another nslab process to reach or stop the VM. */
export interface VmState {
  id: string;
  name: string;
  pid: number;
  /** The nslab process that owns it; a VM whose owner is gone and that was not kept is stale. */
  ownerPid: number;
  keep: boolean;
  sshPort: number;
  qmp: QmpAddress;
  accel: Accel;
  accelReason: string;
  /** A hardware accelerator that was tried first (or remembered as failing) and why it failed. */
  accelFailed?: { accel: Accel; message: string };
  arch: string;
  imageDir: string;
  clientKeyFile: string;
  hostKeyBlob: string;
  bootedAt: string;
  phases: Record<string, number>;
  guestUname: string;
}

export async function writeState(dir: string, state: VmState): Promise<void> {
  await writeFileAtomic(join(dir, 'state.json'), JSON.stringify(state, null, 2), 0o600);
}

export async function readState(dir: string): Promise<VmState | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

export { alive };

/** True when `pid` is a QEMU started by nslab under this name: a reused PID is never killed by mistake. */
export function isOurQemu(pid: number, name: string, platform: NodeJS.Platform = process.platform): boolean {
  if (!alive(pid)) return false;
  const source = commandLineSource(platform, pid);
  try {
    if ('file' in source) return looksLikeOurQemu(readFileSync(source.file, 'utf8').split('\0'), name);
    const out = execFileSync(source.argv[0]!, source.argv.slice(1), { encoding: 'utf8', timeout: 5000 });
    return looksLikeOurQemu(out, name);
  } catch {
    return false;
  }
}

/** The run folders of VMs in the runtime folder. */
export async function vmDirs(root: string): Promise<string[]> {
  if (!existsSync(root)) return [];
  return (await readdir(root)).filter((d) => d.startsWith('vm-')).map((d) => join(root, d));
}

/**
 * Finds VMs left behind by an nslab process that died (even by SIGKILL): not kept, owner gone. Kills each
 * QEMU after checking it still is ours, and removes its folder with the keys in it. Returns what it cleaned.
 */
export async function cleanupStale(root: string): Promise<string[]> {
  const cleaned: string[] = [];
  for (const dir of await vmDirs(root)) {
    const state = await readState(dir);
    const pidText = existsSync(join(dir, 'qemu.pid'))
      ? (await readFile(join(dir, 'qemu.pid'), 'utf8')).trim()
      : '';
    const pid = state?.pid ?? (Number(pidText) || 0);
    const name = state?.name ?? `nslab-${dir.split('vm-').pop()}`;
    const ownerAlive = state ? alive(state.ownerPid) : false;
    if (state?.keep && pid && isOurQemu(pid, name)) continue;
    if (ownerAlive && state && !state.keep) continue;
    if (!state && ownerAliveFromMarker(dir)) continue;
    if (pid && isOurQemu(pid, name)) {
      process.kill(pid, 'SIGKILL');
      cleaned.push(`${name} (pid ${pid})`);
    }
    await rm(dir, { recursive: true, force: true });
  }
  return cleaned;
}

/** A folder being booted right now has an owner marker before it has a state. */
function ownerAliveFromMarker(dir: string): boolean {
  try {
    return alive(Number(readFileSync(join(dir, 'owner'), 'utf8')));
  } catch {
    return false;
  }
}
