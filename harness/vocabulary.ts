// Words every layer shares (scenario, targets, report, cli), kept below all of them so that none has to
// import another's types to name a namespace, a target kind or a kernel.

/** Linux namespaces a scenario can isolate its process in, by the names `/proc/<pid>/ns/` uses. */
export const NAMESPACES = ['pid', 'mnt', 'uts', 'ipc', 'net', 'user', 'cgroup', 'time'] as const;
export type Namespace = (typeof NAMESPACES)[number];

/** Machine architectures (host and guest), by the names `uname -m` prints. */
export const ARCHES = ['x86_64', 'aarch64'] as const;
export type Arch = (typeof ARCHES)[number];

/**
 * Where scenarios can run: this Linux host, a QEMU VM, a WSL distribution (Windows), or the Docker engine
 * the docker CLI talks to. Each has a driver in harness/targets/<kind>/ (registry.ts lists them).
 */
export const TARGET_KINDS = ['native', 'vm', 'wsl', 'engine'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export interface KernelIdentity {
  /** `uname -s`, `-r`, `-v`, `-m`: what one running kernel reports, whoever asks. */
  name: string;
  release: string;
  version: string;
  machine: string;
}

/**
 * What a VM guest's network reaches. `isolated` (the default): nothing but its own SSH forward, QEMU's
 * user network with restrict=on. `open`: the user network as QEMU sets it up, through which the guest
 * reaches the host's loopback services and whatever the host can reach (--guest-network).
 */
export const GUEST_NETWORKS = ['isolated', 'open'] as const;
export type GuestNetwork = (typeof GUEST_NETWORKS)[number];

/** How the isolated process is made: util-linux unshare, an OCI bundle run by runc, or a Docker container. */
export const RUNTIME_NAMES = ['unshare', 'runc', 'docker'] as const;
export type RuntimeName = (typeof RUNTIME_NAMES)[number];

/** Clock offsets of a new time namespace, in whole seconds (util-linux `unshare --boottime/--monotonic`). */
export interface TimeOffsets {
  boottime?: number;
  monotonic?: number;
}

/** The clocks a time namespace can shift, in the order `unshare` is given them. */
export const TIME_CLOCKS = ['boottime', 'monotonic'] as const;

/**
 * The kernel refuses an offset beyond KTIME_SEC_MAX / 2 seconds (kernel/time/namespace.c; at run time it
 * also refuses one that takes the clock below 0 or past that bound).
 */
export const TIME_OFFSET_MAX = 4_611_686_018;

/** Host OSes in words, by Node's platform names. */
const OS_NAMES: Record<string, string> = { linux: 'Linux', darwin: 'macOS', win32: 'Windows' };
export const osName = (os: string): string => OS_NAMES[os] ?? os;
