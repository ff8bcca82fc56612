// The host's process that is the engine's VM, where the host shows one: the third layer of the PID chain
// (container → engine VM → this host). A match must be specific: a pid file the backend writes, or a process
// name only that backend uses. Anything less is "not visible", with the reason, never a guess.
//
// Where the names come from (checked against the projects' source where it was available):
// - Lima (and so colima and Rancher Desktop on macOS/Linux) writes <instance dir>/<vmType>.pid: qemu.pid
//   holds the qemu-system process, krunkit.pid the krunkit process, vz.pid the host agent's own pid (the
//   Virtualization.framework VM runs inside `limactl hostagent`); ha.pid is the host agent
//   (lima-vm/lima pkg/limatype/filenames, pkg/driver/{qemu,vz,krunkit}).
// - colima keeps its Lima instances under ~/.colima/_lima, named "colima" (profile default) or
//   "colima-<profile>"; Rancher Desktop's instance is "0" under its own LIMA_HOME
//   (lima-vm/lima#639: ~/Library/Application Support/rancher-desktop/lima, ~/.local/share/rancher-desktop/lima).
// - Docker Desktop on macOS: com.docker.virtualization (Virtualization.framework), com.docker.krun (Docker
//   VMM), com.docker.hyperkit (older releases); on Windows the WSL 2 VM is the Windows process vmmem /
//   vmmemWSL, which a POSIX ps cannot list.
// - OrbStack: "OrbStack Helper" runs its VM.
// - Podman machine: vfkit, krunkit or qemu-system-* with the machine's files in its arguments.
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { unixSocketPath, engineHost, type EngineBackend, type EngineFacts } from './backend.ts';

export interface HostProcess {
  pid: number;
  ppid?: number;
  comm: string;
  args: string;
}

export type VmProcess = { pid: number; what: string; how: string } | { notVisible: string };

/** The pidFiles key under which the caller passes nslab engine VM's QEMU pid (from its state.json). */
export const NSLAB_QEMU_PID = 'nslab:qemuPid';

const LIMA_VM_PID_FILES = ['qemu.pid', 'vz.pid', 'krunkit.pid'] as const;
const LIMA_HOSTAGENT_PID = 'ha.pid';

/** colima's Lima instance for a profile: "colima" for the default profile, else "colima-<profile>". */
const colimaInstance = (profile: string) =>
  profile === 'default' || profile === 'colima' ? 'colima' : `colima-${profile}`;

/** The Lima instance folders that may belong to the backend, from the context and the socket. */
function limaInstanceDirs(backend: EngineBackend, home: string, facts: EngineFacts): string[] {
  const socket = unixSocketPath(engineHost(facts)) ?? '';
  const context = facts.context?.Name ?? '';
  const dirs: string[] = [];
  if (backend.id === 'colima') {
    const limaHome = join(home, '.colima', '_lima');
    // ~/.colima/<profile>/docker.sock
    const bySocket = /\/\.colima\/([^/]+)\/docker\.sock$/.exec(socket)?.[1];
    if (bySocket) dirs.push(join(limaHome, colimaInstance(bySocket)));
    // context "colima" or "colima-<profile>"
    if (context.startsWith('colima')) dirs.push(join(limaHome, context));
    if (dirs.length === 0) dirs.push(join(limaHome, 'colima'));
  } else if (backend.id === 'lima') {
    // ~/.lima/<instance>/sock/docker.sock (Lima's docker templates), or context lima-<instance>
    const bySocket = /\/\.lima\/([^/]+)\/sock\/docker\.sock$/.exec(socket)?.[1];
    if (bySocket) dirs.push(join(home, '.lima', bySocket));
    if (context.startsWith('lima-')) dirs.push(join(home, '.lima', context.slice('lima-'.length)));
  } else if (backend.id === 'rancher-desktop') {
    if (facts.hostOs === 'darwin')
      dirs.push(join(home, 'Library', 'Application Support', 'rancher-desktop', 'lima', '0'));
    if (facts.hostOs === 'linux') dirs.push(join(home, '.local', 'share', 'rancher-desktop', 'lima', '0'));
  }
  return [...new Set(dirs)];
}

/** The pid files worth reading for that backend, as absolute paths under home. Pure. */
export function pidFilesFor(backend: EngineBackend, home: string, facts: EngineFacts): string[] {
  if (facts.hostOs === 'win32') return [];
  return limaInstanceDirs(backend, home, facts).flatMap((dir) =>
    [...LIMA_VM_PID_FILES, LIMA_HOSTAGENT_PID].map((f) => join(dir, f)),
  );
}

const parsePid = (text: string | undefined): number | undefined => {
  const n = Number.parseInt(text?.trim() ?? '', 10);
  return Number.isInteger(n) && n > 0 ? n : undefined;
};

/** The program's file name: ps's comm is a full path on macOS, and the short name on Linux. */
const programOf = (p: HostProcess) => basename(p.comm.trim());

const isQemu = (p: HostProcess) =>
  programOf(p).startsWith('qemu-system-') || /(^|\/)qemu-system-\S+/.test(p.args.split(' ')[0] ?? '');

function lima(backend: EngineBackend, processes: HostProcess[], pidFiles: Record<string, string>): VmProcess {
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const stale: string[] = [];
  for (const name of [...LIMA_VM_PID_FILES, LIMA_HOSTAGENT_PID])
    for (const [path, content] of Object.entries(pidFiles)) {
      if (basename(path) !== name) continue;
      const pid = parsePid(content);
      if (pid === undefined) continue;
      const p = byPid.get(pid);
      if (!p) {
        stale.push(`${path} names pid ${pid}, which is not running`);
        continue;
      }
      const what =
        name === 'qemu.pid'
          ? `QEMU (${programOf(p)}), ${backend.name}'s Lima VM`
          : name === 'krunkit.pid'
            ? `krunkit, ${backend.name}'s Lima VM`
            : name === 'vz.pid'
              ? `limactl hostagent running ${backend.name}'s Virtualization.framework VM`
              : `limactl hostagent of ${backend.name}'s Lima VM (the VM process itself is not named by a pid file)`;
      return { pid, what, how: `pid file ${path}` };
    }
  const read = Object.keys(pidFiles).filter((k) => k !== NSLAB_QEMU_PID);
  return {
    notVisible:
      stale.length > 0
        ? `${backend.name}'s pid files name no running process: ${stale.join('; ')}`
        : read.length === 0
          ? `no pid file of ${backend.name}'s Lima instance was found (qemu.pid, vz.pid, krunkit.pid, ha.pid)`
          : `${backend.name}'s pid files hold no pid`,
  };
}

/** Pure: the engine VM's process on this host, from the backend, the host's processes and the pid files read (path → content). */
export function findVmProcess(
  backend: EngineBackend,
  processes: HostProcess[],
  pidFiles: Record<string, string>,
  _home: string,
): VmProcess {
  if (backend.inVm === false) return { notVisible: "no VM: the engine runs on this host's kernel" };
  if (backend.id === 'nslab-engine-vm') {
    const pid = parsePid(pidFiles[NSLAB_QEMU_PID]);
    if (pid === undefined)
      return { notVisible: "no nslab VM's state names a QEMU process serving this Docker socket" };
    const p = processes.find((x) => x.pid === pid);
    if (!p) return { notVisible: `nslab's VM state names QEMU pid ${pid}, which is not running` };
    if (!isQemu(p))
      return {
        notVisible: `nslab's VM state names pid ${pid}, but that process is ${programOf(p)}, not qemu-system-*`,
      };
    return {
      pid,
      what: `QEMU (${programOf(p)}), nslab's engine VM`,
      how: "nslab's VM state (state.json pid)",
    };
  }
  if (backend.id === 'unknown')
    return { notVisible: "the engine's backend is not recognised, so no host process is known to be its VM" };
  if (processes.length === 0 && Object.keys(pidFiles).length === 0)
    return {
      notVisible:
        backend.id === 'docker-desktop' && backend.runsIn === 'WSL 2 VM'
          ? "Docker Desktop's WSL 2 VM is the Windows process vmmem (vmmemWSL), which this host's process list does not show"
          : "this host's process list was not available",
    };
  switch (backend.id) {
    case 'colima':
    case 'lima':
    case 'rancher-desktop':
      if (backend.runsIn === 'WSL 2 VM') break;
      return lima(backend, processes, pidFiles);
    case 'docker-desktop': {
      const names = ['com.docker.virtualization', 'com.docker.krun', 'com.docker.hyperkit'];
      for (const name of names) {
        const p = processes.find((x) => programOf(x) === name);
        if (p) return { pid: p.pid, what: `${name}, Docker Desktop's VM`, how: `process name ${name}` };
      }
      // Docker Desktop for Linux runs its VM in QEMU with its files under ~/.docker/desktop.
      const q = processes.find((x) => isQemu(x) && x.args.includes('/.docker/desktop/'));
      if (q)
        return {
          pid: q.pid,
          what: `QEMU (${programOf(q)}), Docker Desktop's VM`,
          how: 'qemu-system-* with ~/.docker/desktop/ in its arguments',
        };
      break;
    }
    case 'orbstack': {
      const helpers = processes.filter((x) => programOf(x).startsWith('OrbStack Helper'));
      const p = helpers.find((x) => /\(VM\)/.test(programOf(x))) ?? helpers[0];
      if (p)
        return { pid: p.pid, what: `${programOf(p)}, OrbStack's VM`, how: `process name ${programOf(p)}` };
      break;
    }
    case 'podman-machine': {
      const p = processes.find(
        (x) =>
          (['vfkit', 'krunkit'].includes(programOf(x)) || isQemu(x)) &&
          /podman-machine|\/containers\/podman\/machine\//.test(x.args),
      );
      if (p)
        return {
          pid: p.pid,
          what: `${programOf(p)}, the podman machine's VM`,
          how: `process ${programOf(p)} with the podman machine in its arguments`,
        };
      break;
    }
  }
  if (backend.runsIn === 'WSL 2 VM')
    return {
      notVisible: `${backend.name}'s WSL 2 VM is the Windows process vmmem (vmmemWSL), which this host's process list does not show`,
    };
  return { notVisible: `no process on this host is one only ${backend.name} runs for its VM` };
}

/** The lines of `ps -o pid=,<col>=`: pid and the rest of the line. */
function psColumns(stdout: string, withPpid: boolean): Map<number, { ppid?: number; rest: string }> {
  const out = new Map<number, { ppid?: number; rest: string }>();
  const re = withPpid ? /^\s*(\d+)\s+(\d+)\s(.*)$/ : /^\s*(\d+)\s(.*)$/;
  for (const line of stdout.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    if (withPpid) out.set(Number(m[1]), { ppid: Number(m[2]), rest: (m[3] ?? '').trim() });
    else out.set(Number(m[1]), { rest: (m[2] ?? '').trim() });
  }
  return out;
}

/**
 * Impure: lists this host's processes with ps (linux, darwin). comm and args are asked for in two runs, since
 * either may hold spaces ("OrbStack Helper"). On win32 it returns [] and findVmProcess says "not visible".
 */
export async function gatherHostProcesses(
  o: { platform?: NodeJS.Platform; signal?: AbortSignal } = {},
): Promise<HostProcess[]> {
  if ((o.platform ?? process.platform) === 'win32') return [];
  const ps = (cols: string) =>
    execa('ps', ['-A', '-o', cols], {
      reject: false,
      env: { LC_ALL: 'C' },
      cancelSignal: o.signal,
      timeout: 15_000,
    });
  const [comm, args] = await Promise.all([ps('pid=,ppid=,comm='), ps('pid=,args=')]);
  if (comm.exitCode !== 0 || typeof comm.stdout !== 'string') return [];
  const argsByPid = psColumns(typeof args.stdout === 'string' ? args.stdout : '', false);
  return [...psColumns(comm.stdout, true)].map(([pid, c]) => ({
    pid,
    ...(c.ppid !== undefined ? { ppid: c.ppid } : {}),
    comm: c.rest,
    args: argsByPid.get(pid)?.rest ?? c.rest,
  }));
}
