/**
 * LinuxKit's configuration schema (src/cmd/linuxkit/moby/schema.go in linuxkit/linuxkit), restated as data
 * for our validator. No key outside these is allowed, at any level (LinuxKit: additionalProperties false).
 */
export type Shape =
  | { t: 'string' }
  | { t: 'bool' }
  | { t: 'int' }
  | { t: 'id' } // a uid/gid: a name (string) or a number
  | { t: 'enum'; values: readonly string[] }
  | { t: 'list'; items: Shape }
  | { t: 'map'; values: Shape } // free keys, e.g. sysctl
  | { t: 'object'; props: Record<string, Shape>; required?: readonly string[] };

const str: Shape = { t: 'string' };
const bool: Shape = { t: 'bool' };
const int: Shape = { t: 'int' };
const id: Shape = { t: 'id' };
const strings: Shape = { t: 'list', items: str };
const mapstring: Shape = { t: 'map', values: str };
const obj = (props: Record<string, Shape>, required?: readonly string[]): Shape => ({
  t: 'object',
  props,
  required,
});
const list = (items: Shape): Shape => ({ t: 'list', items });

const idmapping = obj({ hostID: int, containerID: int, size: int });
const mount = obj({
  destination: str,
  type: str,
  source: str,
  options: strings,
  uidmappings: list(idmapping),
  gidmappings: list(idmapping),
});
const throttle = obj({ major: int, minor: int, rate: int });
const resources = obj({
  devices: list(obj({ allow: bool, type: str, major: int, minor: int, access: str })),
  memory: obj({
    limit: int,
    reservation: int,
    swap: int,
    kernel: int,
    kernelTCP: int,
    swappiness: int,
    disableOOMKiller: bool,
  }),
  cpu: obj({
    shares: int,
    quota: int,
    period: int,
    realtimeRuntime: int,
    realtimePeriod: int,
    cpus: str,
    mems: str,
  }),
  pids: obj({ limit: int }),
  blockio: obj({
    weight: int,
    leafWeight: int,
    weightDevice: list(obj({ major: int, minor: int, weight: int, leafWeight: int })),
    throttleReadBpsDevice: list(throttle),
    throttleWriteBpsDevice: list(throttle),
    throttleReadIOPSDevice: list(throttle),
    throttleWriteIOPSDevice: list(throttle),
  }),
  hugepageLimits: list(obj({ pageSize: int, limit: int })),
  network: obj({ classID: int, priorities: list(obj({ name: str, priority: int })) }),
});
const runtime = obj({
  cgroups: strings,
  mounts: list(mount),
  mkdir: strings,
  interfaces: list(obj({ name: str, add: str, peer: str, createInRoot: bool })),
  bindNS: obj({ cgroup: str, ipc: str, mnt: str, net: str, pid: str, user: str, uts: str }),
  namespace: str,
});

export const IMAGE_SHAPE = obj(
  {
    name: str,
    image: str,
    capabilities: strings,
    'capabilities.add': strings,
    ambient: strings,
    mounts: list(mount),
    binds: strings,
    'binds.add': strings,
    devices: list(obj({ path: str, type: str, major: int, minor: int, mode: str })),
    tmpfs: strings,
    command: strings,
    env: strings,
    cwd: str,
    net: str,
    pid: str,
    ipc: str,
    uts: str,
    userns: str,
    readonly: bool,
    maskedPaths: strings,
    readonlyPaths: strings,
    uid: id,
    gid: id,
    additionalGids: list(id),
    noNewPrivileges: bool,
    hostname: str,
    oomScoreAdj: int,
    rootfsPropagation: str,
    cgroupsPath: str,
    resources,
    sysctl: mapstring,
    rlimits: strings,
    uidMappings: list(idmapping),
    gidMappings: list(idmapping),
    annotations: mapstring,
    runtime,
  },
  ['name', 'image'],
);

export const FILE_SHAPE = obj({
  path: str,
  directory: bool,
  symlink: str,
  contents: str,
  source: str,
  metadata: str,
  optional: bool,
  mode: str,
  uid: id,
  gid: id,
});

export const LINUXKIT_SHAPE = obj({
  kernel: obj({ image: str, cmdline: str, binary: str, tar: str, ucode: str }),
  init: strings,
  onboot: list(IMAGE_SHAPE),
  onshutdown: list(IMAGE_SHAPE),
  services: list(IMAGE_SHAPE),
  trust: obj({ image: strings, org: strings }),
  files: list(FILE_SHAPE),
  volumes: list(
    obj({
      name: str,
      image: str,
      readonly: bool,
      format: { t: 'enum', values: ['oci', 'filesystem'] },
      platforms: strings,
    }),
  ),
});

/** Linux capabilities LinuxKit knows (CAP_ + the kernel's names); `all` or `none` alone also work. */
// prettier-ignore
export const CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
].map((c) => `CAP_${c}`);

// prettier-ignore
export const RLIMITS = [
  'CPU', 'FSIZE', 'DATA', 'STACK', 'CORE', 'RSS', 'NPROC', 'NOFILE', 'MEMLOCK', 'AS', 'LOCKS', 'SIGPENDING',
  'MSGQUEUE', 'NICE', 'RTPRIO', 'RTTIME',
].map((r) => `RLIMIT_${r}`);

/** The sections that hold containers, in the order LinuxKit gives them uids (100, 101, ...). */
export const IMAGE_SECTIONS = ['onboot', 'onshutdown', 'services'] as const;
