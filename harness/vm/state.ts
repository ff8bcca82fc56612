import { existsSync, readFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { alive } from '../util/process.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { EnvironmentError } from '../errors.ts';
import { hostPlatform, type Platform } from '../platform/index.ts';
import { looksLikeOurQemu, type QemuExpect } from './cleanup.ts';
import { checkVmDir, readPrivateFile } from './runtime-dir.ts';
import type { Accel } from './accel.ts';
import type { QmpAddress } from './qmp.ts';
import type { GuestNetwork } from '../vocabulary.ts';
import { idOfRunFolder, isRunFolderName, runFile, vmName } from './run-folder.ts';

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
  /** How the guest came up: restored from a saved guest, or booted cold (and whether it was saved then). */
  boot?: BootKind;
  /** What its network reaches (absent in states from before the policy: those were open). */
  guestNetwork?: GuestNetwork;
  /** The QEMU binary that runs it and its --version line, and the image it booted: the boot's facts, asked once. */
  qemuBinary?: { path: string; version: string };
  image?: { digest: string; builder: string; kernelVersion?: string };
  /** nslab engine up: the Unix socket in this folder that forwards to the guest's dockerd (a DOCKER_HOST). */
  dockerSocket?: string;
}

/** A VM's guest network; a state from before the policy was open. */
export const guestNetworkOf = (s: VmState): GuestNetwork => s.guestNetwork ?? 'open';

export type BootKind =
  | { mode: 'restore'; restoreMs: number }
  | { mode: 'cold'; snapshot: 'saved' | 'off' | 'none' | 'failed'; note?: string };

export async function writeState(dir: string, state: VmState): Promise<void> {
  await writeFileAtomic(runFile(dir, 'state'), JSON.stringify(state, null, 2), 0o600);
}

/**
 * Whether a parsed state.json is one nslab wrote for this folder (vm-<id>): the right name, numbers where
 * numbers belong, the QMP socket and client key inside the folder. Pure.
 */
export function stateProblem(
  dir: string,
  state: unknown,
  platform: Platform = hostPlatform,
): string | undefined {
  const s = state as Partial<VmState> | null;
  if (!s || typeof s !== 'object') return 'is not a JSON object';
  const id = idOfRunFolder(dir);
  const isPid = (n: unknown) => Number.isInteger(n) && (n as number) > 1;
  if (s.id !== id || s.name !== vmName(id))
    return `names another VM (${String(s.name)}) than its folder ${basename(dir)}`;
  if (!isPid(s.pid) || !isPid(s.ownerPid)) return 'has no valid pid or ownerPid';
  if (!Number.isInteger(s.sshPort) || s.sshPort! < 1 || s.sshPort! > 65535) return 'has no valid sshPort';
  const qmpOk =
    platform.control === 'tcp'
      ? s.qmp !== null &&
        typeof s.qmp === 'object' &&
        'port' in s.qmp &&
        Number.isInteger(s.qmp.port) &&
        // The TLS key is read from the VM's own folder only.
        s.qmp.pskDir === dir
      : s.qmp !== null &&
        typeof s.qmp === 'object' &&
        'socket' in s.qmp &&
        s.qmp.socket === runFile(dir, 'qmpSocket');
  if (!qmpOk) return 'has a QMP address that nslab did not give it';
  if (s.clientKeyFile !== runFile(dir, 'clientKey')) return 'has a client key outside its folder';
  if (typeof s.hostKeyBlob !== 'string') return 'has no host key';
  if (s.dockerSocket !== undefined && s.dockerSocket !== runFile(dir, 'dockerSocket'))
    return 'has a Docker socket outside its folder';
  return undefined;
}

/**
 * The state in a VM folder, once the folder (ours, 0700, no symlink) and state.json (ours, not writable by
 * others) are checked. Undefined when there is none yet; throws EnvironmentError when one is not trusted.
 */
export async function readState(dir: string): Promise<VmState | undefined> {
  checkVmDir(dir);
  const path = runFile(dir, 'state');
  const text = await readPrivateFile(path);
  if (text === undefined) return undefined;
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch {
    state = undefined;
  }
  const problem = stateProblem(dir, state);
  if (problem)
    throw new EnvironmentError(
      `${path} ${problem}: nslab did not write it and does not trust it`,
      `remove the VM folder (rm -rf ${dir}); stop its QEMU yourself if one still runs`,
    );
  return state as VmState;
}

/** What a VM's state says its QEMU was started with, to be found in that QEMU's command line. */
const expectOf = (state: VmState): QemuExpect => ({ sshPort: state.sshPort, qmp: state.qmp });

/**
 * The state of a VM that runs and is what its state says, to reconnect to it or stop it: its QEMU (by PID)
 * has its name, SSH forward and QMP address on its command line, and its client key is a private file of
 * ours. Undefined when that QEMU is gone; throws EnvironmentError when anything does not match.
 */
export async function runningState(dir: string): Promise<VmState | undefined> {
  const state = await readState(dir);
  if (!state || !isOurQemu(state.pid, state.name)) return undefined;
  if (!isOurQemu(state.pid, state.name, expectOf(state)))
    throw new EnvironmentError(
      `${runFile(dir, 'state')} does not match its QEMU (pid ${state.pid}): the state says ssh on 127.0.0.1:${state.sshPort} and QMP at ${qmpText(state.qmp)}, the process was started with others; nslab will neither connect to it nor stop it`,
      `stop that QEMU yourself (kill ${state.pid}) and remove the VM folder (rm -rf ${dir})`,
    );
  if ((await readPrivateFile(state.clientKeyFile, true)) === undefined)
    throw new EnvironmentError(
      `the client key ${state.clientKeyFile} of the running VM ${state.name} is missing`,
      `stop the VM with \`kill ${state.pid}\` and remove the VM folder (rm -rf ${dir})`,
    );
  return state;
}

const qmpText = (q: QmpAddress) => ('socket' in q ? q.socket : `127.0.0.1:${q.port}`);

export { alive };

/**
 * True when `pid` is a QEMU started by nslab under this name (a reused PID is never killed by mistake) and,
 * with `expect`, with that SSH port and QMP address.
 */
export function isOurQemu(
  pid: number,
  name: string,
  expect: QemuExpect = {},
  platform: Platform = hostPlatform,
): boolean {
  if (!Number.isInteger(pid) || pid <= 1 || !alive(pid)) return false;
  const source = platform.commandLineSource(pid);
  try {
    if ('file' in source)
      return looksLikeOurQemu(readFileSync(source.file, 'utf8').split('\0'), name, expect);
    const out = execFileSync(source.argv[0]!, source.argv.slice(1), { encoding: 'utf8', timeout: 5000 });
    return looksLikeOurQemu(out, name, expect);
  } catch {
    return false;
  }
}

/** The run folders of VMs in the runtime folder. */
export async function vmDirs(root: string): Promise<string[]> {
  if (!existsSync(root)) return [];
  return (await readdir(root)).filter(isRunFolderName).map((d) => join(root, d));
}

/**
 * Finds VMs left behind by an nslab process that died (even by SIGKILL): not kept, owner gone. Kills each
 * QEMU after checking it still is ours, and removes its folder with the keys in it. Returns what it cleaned;
 * a folder or file that fails its checks is left alone, and `warn` says so.
 */
export async function cleanupStale(root: string, warn: (line: string) => void = () => {}): Promise<string[]> {
  const cleaned: string[] = [];
  for (const dir of await vmDirs(root)) {
    let state: VmState | undefined;
    let pidText: string | undefined;
    let ownerText: string | undefined;
    try {
      state = await readState(dir);
      pidText = await readPrivateFile(runFile(dir, 'pid'));
      ownerText = await readPrivateFile(runFile(dir, 'owner'));
    } catch (error) {
      if (!(error instanceof EnvironmentError)) throw error;
      warn(`vm: left ${dir} alone: ${error.message}`);
      continue;
    }
    const pid = state?.pid ?? (Number(pidText?.trim()) || 0);
    const name = state?.name ?? vmName(idOfRunFolder(dir));
    const running = isOurQemu(pid, name);
    if (running && state && !isOurQemu(pid, name, expectOf(state))) {
      warn(`vm: left ${dir} alone: its state.json does not match its QEMU (pid ${pid})`);
      continue;
    }
    if (state?.keep && running) continue;
    if (state && !state.keep && alive(state.ownerPid)) continue;
    // A folder being booted right now has an owner marker before it has a state.
    const ownerPid = Number(ownerText) || 0;
    if (!state && ownerPid > 1 && alive(ownerPid)) continue;
    if (running) {
      process.kill(pid, 'SIGKILL');
      cleaned.push(`${name} (pid ${pid})`);
    }
    await rm(dir, { recursive: true, force: true });
  }
  return cleaned;
}
