// Words every layer shares (scenario, targets, report, cli), kept below all of them so that none has to
// import another's types to name a namespace, a target kind or a kernel.

/** Linux namespaces a scenario can isolate its process in, by the names `/proc/<pid>/ns/` uses. */
export const NAMESPACES = ['pid', 'mnt', 'uts', 'ipc', 'net', 'user', 'cgroup', 'time'] as const;
export type Namespace = (typeof NAMESPACES)[number];

/** Where scenarios can run: this Linux host, or a QEMU VM. */
export const TARGET_KINDS = ['native', 'vm'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export interface KernelIdentity {
  /** `uname -s`, `-r`, `-v`, `-m`: what one running kernel reports, whoever asks. */
  name: string;
  release: string;
  version: string;
  machine: string;
}
