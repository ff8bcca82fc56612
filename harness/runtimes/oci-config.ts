import type { Namespace } from '../vocabulary.ts';

/** The OCI namespace type for each of ours; `time` has none in runc before 1.2, `user` needs id maps. */
const OCI_NAMESPACE: Partial<Record<Namespace, string>> = {
  pid: 'pid',
  mnt: 'mount',
  uts: 'uts',
  ipc: 'ipc',
  net: 'network',
  cgroup: 'cgroup',
};

/** The namespaces an OCI bundle from ociConfig() can make. */
export const OCI_NAMESPACES = Object.keys(OCI_NAMESPACE) as Namespace[];

/**
 * Docker's default capabilities plus CAP_SYS_ADMIN, which the scenarios' inside commands need to rename
 * their host or mount inside (what unshare's root may do). The same set for runc and docker.
 */
export const CONTAINER_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL',
  'CAP_AUDIT_WRITE', 'CAP_SYS_ADMIN',
]; // prettier-ignore

const MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
]; // prettier-ignore
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Where the probe's scratch folder appears inside a container (bind-mounted, so the FIFO and files are shared). */
export const CONTAINER_PROBE_DIR = '/nslab';

export interface OciConfigOptions {
  /** The root filesystem, an absolute path on the target (read-only, shared by every container). */
  rootfs: string;
  args: readonly string[];
  namespaces: readonly Namespace[];
}

/**
 * The config.json of an OCI bundle (runtime-spec 1.0) for one isolated process, as root. The probe's
 * folder is the bundle's parent, bind-mounted at /nslab: a relative bind source is relative to the bundle
 * (runtime-spec, config.md "mounts"). A mount namespace is always made: a bundle has a root of its own.
 */
export function ociConfig(o: OciConfigOptions): object {
  const namespaces = [...new Set(['mnt' as const, ...o.namespaces])]
    .map((ns) => OCI_NAMESPACE[ns])
    .filter((t): t is string => t !== undefined)
    .map((type) => ({ type }));
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [...o.args],
      env: ['PATH=/bin', `NSLAB_DIR=${CONTAINER_PROBE_DIR}`],
      cwd: '/',
      capabilities: {
        bounding: CONTAINER_CAPABILITIES,
        effective: CONTAINER_CAPABILITIES,
        permitted: CONTAINER_CAPABILITIES,
      },
      noNewPrivileges: true,
    },
    root: { path: o.rootfs, readonly: true },
    mounts: [
      // proc of the container's PID namespace; without one it would show the target's processes, as it should.
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      { destination: CONTAINER_PROBE_DIR, type: 'bind', source: '..', options: ['rbind', 'rw'] },
    ],
    linux: {
      namespaces,
      // runc spec's defaults, as Docker has them too: with CAP_SYS_ADMIN the container must still not write
      // the target's kernel settings (/proc/sys) or reach its keys, memory or SysRq.
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}
