// Which engine the docker CLI talks to, from what it says about itself. Pure: the facts are gathered by the
// target (docker context inspect, $DOCKER_HOST, docker info, docker version). Every name is matched by prefix
// or substring, never by equality: products rename themselves between versions (OrbStack's engine said
// "Alpine Linux edge (containerized)" before it said "OrbStack"), and a detection that breaks on a version
// bump would call a VM "native". The recordings each rule was checked against are in test/fixtures/engine/.

export interface EngineFacts {
  /** `docker context inspect` of the current context, parsed (the first element of its JSON array), if the CLI has contexts. */
  context?: { Name?: string; Endpoints?: { docker?: { Host?: string } } };
  /** $DOCKER_HOST if set. */
  dockerHost?: string;
  /** `docker info --format '{{json .}}'`, parsed. Fields used: OperatingSystem, KernelVersion, Name, OSType, Architecture, ServerVersion, SecurityOptions, Labels. */
  info: Record<string, unknown>;
  /** `docker version --format '{{json .}}'`, parsed: Server.Platform.Name, Server.Components[].Name/Version, Client. */
  version?: Record<string, unknown>;
  /** The OS nslab runs on: linux, darwin, win32. */
  hostOs: string;
}

export type BackendId =
  | 'docker-desktop'
  | 'orbstack'
  | 'colima'
  | 'lima'
  | 'rancher-desktop'
  | 'podman-machine'
  | 'podman'
  | 'nslab-engine-vm'
  | 'native-linux'
  | 'unknown';

export interface EngineBackend {
  id: BackendId;
  /** e.g. "Docker Desktop", "OrbStack", "colima", "Lima", "Rancher Desktop", "Podman machine", "nslab engine VM", "native dockerd". */
  name: string;
  /** What the engine runs in: "LinuxKit VM", "Lima VM", "WSL 2 VM", "QEMU VM", "this host's kernel" ... */
  runsIn: string;
  /** true when the engine runs in a VM (its kernel is not the host's). false for a native Linux daemon. undefined when unknown. */
  inVm?: boolean;
  /** The report column, e.g. "Docker Desktop (LinuxKit VM) on macOS", "native dockerd on Linux". */
  column: string;
  /** Which facts decided it, in words, e.g. `docker info OperatingSystem "Docker Desktop"`, for the report. */
  evidence: string[];
  /** Engine's architecture in uname -m words (x86_64 / aarch64), from info.Architecture. */
  arch?: string;
  /** Docker Desktop's Enhanced Container Isolation (or any engine refusing --pid=host) when detectable from info (SecurityOptions / Labels); otherwise undefined. */
  pidHostForbidden?: { reason: string };
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The host's OS in the report's words. */
export function hostOsName(hostOs: string): string {
  return hostOs === 'darwin'
    ? 'macOS'
    : hostOs === 'win32'
      ? 'Windows'
      : hostOs === 'linux'
        ? 'Linux'
        : hostOs;
}

/** The Docker host the CLI uses: $DOCKER_HOST wins over the context, as in the docker CLI itself. */
export function engineHost(facts: EngineFacts): string | undefined {
  return facts.dockerHost || facts.context?.Endpoints?.docker?.Host || undefined;
}

/** The socket path of a unix:// host, else undefined. */
export function unixSocketPath(host: string | undefined): string | undefined {
  return host?.startsWith('unix://') ? host.slice('unix://'.length) : undefined;
}

/** info.Architecture in uname -m words; Go's names (amd64, arm64) are mapped, anything else passed through. */
export function engineArch(architecture: unknown): string | undefined {
  const a = text(architecture);
  if (!a) return undefined;
  if (a === 'amd64' || a === 'x86_64') return 'x86_64';
  if (a === 'arm64' || a === 'aarch64') return 'aarch64';
  return a;
}

interface Clues {
  os: string;
  name: string;
  kernel: string;
  contextName: string;
  host: string;
  socket: string;
  components: { Name: string; Version: string }[];
  platform: string;
}

function cluesOf(f: EngineFacts): Clues {
  const server = (f.version?.Server ?? {}) as { Platform?: { Name?: unknown }; Components?: unknown };
  const components = Array.isArray(server.Components)
    ? server.Components.map((c: { Name?: unknown; Version?: unknown }) => ({
        Name: text(c?.Name),
        Version: text(c?.Version),
      }))
    : [];
  const host = engineHost(f) ?? '';
  return {
    os: text(f.info.OperatingSystem),
    name: text(f.info.Name),
    kernel: text(f.info.KernelVersion),
    contextName: text(f.context?.Name),
    host,
    socket: unixSocketPath(host) ?? '',
    components,
    platform: text(server.Platform?.Name),
  };
}

/** One rule's findings: evidence lines for the facts that matched. */
type Finder = (c: Clues) => string[];

const said = (what: string, value: string) => `${what} ${JSON.stringify(value)}`;

/** Collects the evidence lines of every check that holds. */
function matches(checks: [boolean, string][]): string[] {
  return checks.filter(([ok]) => ok).map(([, line]) => line);
}

const findNslab: Finder = (c) =>
  matches([[c.os.startsWith('nslab engine VM'), said('docker info OperatingSystem', c.os)]]);

const findPodman: Finder = (c) => {
  const podman = c.components.find((x) => x.Name.startsWith('Podman Engine'));
  return podman
    ? [`docker version Server.Components ${JSON.stringify(podman.Name)} ${podman.Version}`.trim()]
    : [];
};

const findDockerDesktop: Finder = (c) =>
  matches([
    [c.os.startsWith('Docker Desktop'), said('docker info OperatingSystem', c.os)],
    [c.name.includes('docker-desktop'), said('docker info Name', c.name)],
    [c.platform.startsWith('Docker Desktop'), said('docker version Server.Platform.Name', c.platform)],
  ]);

const findOrbStack: Finder = (c) =>
  matches([
    [c.os.startsWith('OrbStack'), said('docker info OperatingSystem', c.os)],
    [c.name.includes('orbstack'), said('docker info Name', c.name)],
    [c.kernel.includes('-orbstack'), said('docker info KernelVersion', c.kernel)],
    [c.contextName.startsWith('orbstack'), said('docker context', c.contextName)],
    [c.socket.includes('/.orbstack/'), said('docker host', c.host)],
  ]);

const findRancher: Finder = (c) =>
  matches([
    [c.os.startsWith('Rancher Desktop'), said('docker info OperatingSystem', c.os)],
    [c.name.includes('rancher-desktop'), said('docker info Name', c.name)],
    [c.contextName.startsWith('rancher-desktop'), said('docker context', c.contextName)],
    [c.socket.includes('/.rd/') || c.socket.includes('rancher-desktop'), said('docker host', c.host)],
  ]);

const findColima: Finder = (c) =>
  matches([
    [c.name.startsWith('colima'), said('docker info Name', c.name)],
    [c.contextName.startsWith('colima'), said('docker context', c.contextName)],
    [c.socket.includes('/.colima/'), said('docker host', c.host)],
  ]);

const findLima: Finder = (c) =>
  matches([
    [c.name.startsWith('lima-'), said('docker info Name', c.name)],
    [c.contextName.startsWith('lima'), said('docker context', c.contextName)],
    [c.socket.includes('/.lima/'), said('docker host', c.host)],
  ]);

function vmBackend(
  id: BackendId,
  name: string,
  runsIn: string,
  hostOs: string,
  evidence: string[],
): Omit<EngineBackend, 'arch'> {
  return { id, name, runsIn, inVm: true, column: `${name} (${runsIn}) on ${hostOsName(hostOs)}`, evidence };
}

function decide(f: EngineFacts, c: Clues): Omit<EngineBackend, 'arch'> {
  const host = hostOsName(f.hostOs);
  let e: string[];
  if ((e = findNslab(c)).length)
    return vmBackend('nslab-engine-vm', 'nslab engine VM', 'QEMU VM', f.hostOs, e);
  if ((e = findPodman(c)).length) {
    // A Podman service on Linux answers from this kernel, unless the socket is a podman machine's.
    const machineSocket = /podman-machine|\/podman\/machine\//.test(c.socket);
    if (f.hostOs !== 'linux' || machineSocket) {
      if (machineSocket) e.push(said('docker host', c.host));
      else e.push(`host OS ${host}: Podman's engine runs in a podman machine`);
      const runsIn = f.hostOs === 'win32' && c.kernel.includes('WSL2') ? 'WSL 2 VM' : 'podman machine VM';
      return vmBackend('podman-machine', 'Podman machine', runsIn, f.hostOs, e);
    }
    return {
      id: 'podman',
      name: 'Podman',
      runsIn: "this host's kernel",
      inVm: false,
      column: 'Podman on Linux',
      evidence: [...e, `host OS Linux, socket ${c.host || '(default)'}`],
    };
  }
  if ((e = findDockerDesktop(c)).length) {
    const wsl = f.hostOs === 'win32' && /microsoft-standard-WSL2|-WSL2/.test(c.kernel);
    if (wsl) e.push(said('docker info KernelVersion', c.kernel));
    return vmBackend('docker-desktop', 'Docker Desktop', wsl ? 'WSL 2 VM' : 'LinuxKit VM', f.hostOs, e);
  }
  if ((e = findOrbStack(c)).length)
    return vmBackend('orbstack', 'OrbStack', "OrbStack's Linux VM", f.hostOs, e);
  if ((e = findRancher(c)).length)
    return vmBackend(
      'rancher-desktop',
      'Rancher Desktop',
      f.hostOs === 'win32' ? 'WSL 2 VM' : 'Lima VM',
      f.hostOs,
      e,
    );
  if ((e = findColima(c)).length) return vmBackend('colima', 'colima', 'Lima VM', f.hostOs, e);
  if ((e = findLima(c)).length) return vmBackend('lima', 'Lima', 'Lima VM', f.hostOs, e);
  // A daemon on this Linux host's own unix socket, none of the above.
  if (f.hostOs === 'linux' && (!c.host || c.socket)) {
    const socket = c.socket || '/var/run/docker.sock';
    return {
      id: 'native-linux',
      name: 'native dockerd',
      runsIn: "this host's kernel",
      inVm: false,
      column: 'native dockerd on Linux',
      evidence: [
        `host OS Linux, unix socket ${socket}${c.host ? '' : ' (the default)'}`,
        ...(c.os ? [said('docker info OperatingSystem', c.os)] : []),
        'no Docker Desktop, OrbStack, Rancher Desktop, colima, Lima, Podman or nslab engine VM name in docker info, docker version or the context',
      ],
    };
  }
  const what = c.os ? `Docker engine on ${JSON.stringify(c.os)}` : 'Docker engine';
  return {
    id: 'unknown',
    name: what,
    runsIn: 'unknown',
    column: `${what} (backend not recognised) on ${host}`,
    evidence: [
      ...(c.os ? [said('docker info OperatingSystem', c.os)] : []),
      ...(c.name ? [said('docker info Name', c.name)] : []),
      ...(c.host ? [said('docker host', c.host)] : []),
      `no known backend's name matched, and ${f.hostOs === 'linux' ? 'the host is not a local unix socket' : `the host OS is ${host}`}`,
    ],
  };
}

/** Names the engine's backend from its facts. Pure. */
export function detectBackend(facts: EngineFacts): EngineBackend {
  const b = decide(facts, cluesOf(facts));
  const arch = engineArch(facts.info.Architecture);
  // No backend documents its refusal of --pid=host in docker info (Docker's Enhanced Container Isolation
  // docs say how to see it from a container, not from info), so pidHostForbidden is left to the target's
  // own probe of a --pid=host helper.
  return { ...b, ...(arch ? { arch } : {}) };
}
