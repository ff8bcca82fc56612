import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { runtimeDir } from '../../vm/runtime-dir.ts';
import { readState, vmDirs } from '../../vm/state.ts';
import type { VmProcessInfo } from '../types.ts';
import type { EngineBackend, EngineFacts } from './backend.ts';
import { findVmProcess, gatherHostProcesses, pidFilesFor } from './vm-process.ts';

/** The socket path of a `unix://` Docker host, else undefined. */
const socketOf = (host: string | undefined) =>
  host?.startsWith('unix://') ? host.slice('unix://'.length) : undefined;

/**
 * nslab's own engine VM (nslab engine up): the QEMU process whose run folder serves the socket DOCKER_HOST
 * names, from its state.json, never from a process name.
 */
async function nslabQemuPid(facts: EngineFacts): Promise<number | undefined> {
  const socket = socketOf(facts.dockerHost ?? facts.context?.Endpoints?.docker?.Host);
  if (!socket) return undefined;
  for (const dir of await vmDirs(runtimeDir())) {
    const state = await readState(dir);
    if (state && (state as { dockerSocket?: string }).dockerSocket === socket) return state.pid;
  }
  return undefined;
}

/** The engine VM's process on this host, read from the host's process list and the backend's pid files. */
export async function engineVmProcess(backend: EngineBackend, facts: EngineFacts): Promise<VmProcessInfo> {
  const home = homedir();
  const pidFiles: Record<string, string> = {};
  await Promise.all(
    pidFilesFor(backend, home, facts).map(async (path) => {
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text !== undefined) pidFiles[path] = text;
    }),
  );
  if (backend.id === 'nslab-engine-vm') {
    const pid = await nslabQemuPid(facts);
    if (pid !== undefined) pidFiles['nslab:qemuPid'] = String(pid);
  }
  return findVmProcess(backend, await gatherHostProcesses(), pidFiles, home);
}
