import { randomBytes } from 'node:crypto';
import type { Preflight } from '../targets/preflight.ts';
import type { Skip, Target, TargetInfo } from '../targets/types.ts';
import { CONTAINER_PROBE_DIR } from './oci-config.ts';
import { ONE_FILE_ROOT_SH, parsePrepareOutput } from './one-file-root.ts';
import type { IsolateRequest, Runtime, RuntimeInfo } from './types.ts';
import { INSIDE_SHELL } from './unshare.ts';

/** Where dockerd's runc keeps each container's state.json (its default exec root, /run/docker). */
export const DOCKER_RUNC_ROOT = '/run/docker/runtime-runc/moby';

/**
 * Once per target: is there a daemon that answers, and the one-file image, made locally with
 * `docker import` (no registry is needed) and tagged by the busybox's SHA-256, so that it is made once.
 */
const PREPARE_SH = `set -u
say() { printf '%s=%s\\n' "$1" "$2"; }
command -v docker > /dev/null 2>&1 || { say skip tool-missing:docker; say detail "docker is not on PATH"; say hint "install docker.io"; exit 0; }
[ "$(id -u)" = 0 ] || { say skip needs-root; say detail "the container's process belongs to root, and nslab reads its /proc entries"; say hint "run as root, or use --runtime unshare"; exit 0; }
v=$(docker version --format '{{.Server.Version}}' 2>&1) || { say skip runtime-unavailable:docker; say detail "no Docker daemon answers: $(printf '%s' "$v" | tail -n 1)"; say hint "start dockerd (systemctl start docker, or dockerd &)"; exit 0; }
say version "Docker Engine $v"
bb=$(command -v busybox) || { say skip tool-missing:busybox; say detail "busybox is not on PATH"; exit 0; }
sum=$(sha256sum "$bb") || exit 70
sum=\${sum%% *}
tag=nslab-scratch:$(printf '%.12s' "$sum")
say image "$tag"
docker image inspect "$tag" > /dev/null 2>&1 && exit 0
root=$(mktemp -d "\${TMPDIR:-/tmp}/nslab-docker-root.XXXXXX") || exit 70
trap 'rm -rf "$root"' EXIT
${ONE_FILE_ROOT_SH}
out=$(tar -C "$root" -c . | docker import -m "nslab: busybox-static as /bin/sh, nothing else" - "$tag" 2>&1) ||
  { say skip runtime-unavailable:docker; say detail "docker import failed: $out"; exit 0; }
say imported "$tag"
`;

/**
 * Per scenario: a container named after the probe folder's random suffix (unique beyond this PID
 * namespace, e.g. for CI jobs sharing one daemon) and labelled with this run's token ($1) so that close()
 * finds any it leaves, with the probe's folder bind-mounted (--mount fails where -v would create a missing
 * folder) and the inside script passed in the environment, in the foreground; --rm leaves nothing behind,
 * and --pull=never keeps docker from asking a registry. The words after $1 are docker run's options,
 * image and command.
 */
const LAUNCH_SH = `n=nslab-\${NSLAB_DIR##*.}
printf '%s\\n' "$n" > "$NSLAB_DIR/container" || exit 125
label=$1
shift
exec docker run --rm --pull=never --name "$n" --label "nslab.run=$label" --mount "type=bind,src=$NSLAB_DIR,dst=${CONTAINER_PROBE_DIR}" -e NSLAB_DIR=${CONTAINER_PROBE_DIR} -e NSLAB_INNER "$@"`;

/** The facts command: what `docker inspect` and the daemon's runc (state.json) say the container's init is. */
const FACTS_SH = `n=$(cat "$NSLAB_DIR/container") || exit 1
out=$(docker inspect -f '{{.State.Pid}} {{.Id}}' "$n") || exit 1
set -- $out
s=${DOCKER_RUNC_ROOT}/$2/state.json
echo "container=$n"; echo "inspectPid=$1"; echo "stateFile=$s"
sed -n 's/.*"init_process_pid":\\([0-9]*\\).*/statePid=\\1/p' "$s"`;

/** close(): any container of this run still there (a probe killed mid-way) is removed. */
const CLOSE_SH = `ids=$(docker ps -aq --filter "label=nslab.run=$1") || exit 0
[ -z "$ids" ] || docker rm -f $ids > /dev/null`;

/**
 * The docker run flags for each namespace it can either make (`own`, nothing when that is its default) or
 * share with the host; a mount namespace it always makes. net: `none` is a namespace with loopback only,
 * as unshare --net makes.
 */
const NAMESPACE_FLAGS = {
  pid: { own: [], host: ['--pid=host'] },
  uts: { own: [], host: ['--uts=host'] },
  ipc: { own: ['--ipc=private'], host: ['--ipc=host'] },
  net: { own: ['--network=none'], host: ['--network=host'] },
  cgroup: { own: ['--cgroupns=private'], host: ['--cgroupns=host'] },
} as const;

/** Each namespace the scenario does not isolate is shared with the host, as unshare would leave it. */
export function dockerNamespaceFlags(request: IsolateRequest): string[] {
  const wants = new Set<string>(request.namespaces);
  return Object.entries(NAMESPACE_FLAGS).flatMap(([ns, f]) => (wants.has(ns) ? f.own : f.host));
}

/** What `docker run` cannot make for one container, as a named skip (shared with the engine target). */
export function dockerRefuses(request: IsolateRequest): Skip | undefined {
  const lacking = request.namespaces.find(
    (ns) => (ns === 'user' || ns === 'time') && !request.optional?.includes(ns),
  );
  if (lacking !== undefined)
    return {
      reason: `runtime-unsupported:${lacking}`,
      detail: `docker run makes no ${lacking} namespace for one container`,
      hint: 'use --runtime unshare',
    };
  if (!request.fork)
    return {
      reason: 'runtime-unsupported:nofork',
      detail: "a container's first process is always its PID namespace's init",
      hint: 'use --runtime unshare',
    };
  return undefined;
}

/**
 * A Docker container from a local one-file image (busybox-static as /bin/sh), on the native target when a
 * daemon answers. Docker's process tree is the seed article's: the container's init is a child of
 * containerd-shim, not of anything nslab started, and `docker inspect` names its host PID.
 */
export class DockerRuntime implements Runtime {
  readonly name = 'docker' as const;
  private image: string | undefined;
  private target: Target | undefined;
  /** Labels this run's containers, so that close() can find any left behind. */
  private readonly token = randomBytes(6).toString('hex');

  async prepare(
    target: Target,
    info: TargetInfo,
    _preflight: Preflight | undefined,
    signal?: AbortSignal,
  ): Promise<{ info: RuntimeInfo; skip?: Skip }> {
    if (info.kind === 'vm')
      return {
        info: { name: 'docker', version: 'unknown' },
        skip: {
          reason: 'runtime-unavailable:docker',
          detail: 'the VM image has no Docker daemon',
          hint: 'use --runtime runc in the VM, or --target native',
        },
      };
    const r = await target.runProbe(PREPARE_SH, [], signal);
    const { facts, skip } = parsePrepareOutput(r.stdout);
    const runtime: RuntimeInfo = { name: 'docker', version: facts.version ?? 'unknown' };
    if (skip) return { info: runtime, skip };
    if (r.exitCode !== 0 || !facts.image)
      throw new Error(`preparing docker failed (exit ${r.exitCode}): ${r.stderr.trim() || r.stdout.trim()}`);
    this.image = facts.image;
    this.target = target;
    return { info: runtime };
  }

  refuses(request: IsolateRequest): Skip | undefined {
    return dockerRefuses(request);
  }

  isolateArgv(request: IsolateRequest): string[] {
    if (!this.image) throw new Error('the docker runtime was not prepared');
    const flags = dockerNamespaceFlags(request);
    return [
      'sh', '-c', LAUNCH_SH, 'nslab-docker', this.token,
      ...flags,
      // Docker's default capabilities lack it; the same set as runc's bundles (oci-config.ts).
      '--cap-add=SYS_ADMIN',
      this.image,
      '/bin/sh', ...INSIDE_SHELL.slice(1), ...request.insideArgs,
    ]; // prettier-ignore
  }

  factsCommand(): string[] {
    return ['sh', '-c', FACTS_SH];
  }

  async close(): Promise<void> {
    const target = this.target;
    this.target = undefined;
    if (target) await target.runProbe(CLOSE_SH, [this.token]).catch(() => {});
  }
}
