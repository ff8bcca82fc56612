import type { Preflight } from '../targets/preflight.ts';
import type { Skip, Target, TargetInfo } from '../targets/types.ts';
import { CONTAINER_PROBE_DIR, OCI_NAMESPACES, ociConfig } from './oci-config.ts';
import { ONE_FILE_ROOT_SH, parsePrepareOutput } from './one-file-root.ts';
import type { IsolateRequest, Runtime, RuntimeInfo } from './types.ts';

/** Once per target: runc's version, the one-file root, and whether / can be pivoted away from. */
const PREPARE_SH = `set -u
say() { printf '%s=%s\\n' "$1" "$2"; }
command -v runc > /dev/null 2>&1 || { say skip tool-missing:runc; say detail "runc is not on PATH"; say hint "install runc (apt-get install runc)"; exit 0; }
[ "$(id -u)" = 0 ] || { say skip needs-root; say detail "runc runs containers as root here (rootless runc is not supported by nslab)"; say hint "run as root, or use --runtime unshare"; exit 0; }
v=$(runc --version 2>&1) || { say skip runtime-unavailable:runc; say detail "$v"; exit 0; }
say version "\${v%%
*}"
base=$(mktemp -d "\${TMPDIR:-/tmp}/nslab-runc.XXXXXX") || exit 70
say base "$base"
# runc's own state (each container's state.json) in a root of this run's: what it leaves, close() finds.
mkdir "$base/state" || exit 70
root=$base/rootfs
${ONE_FILE_ROOT_SH}
chmod 755 "$base" "$root"
# The filesystem type of / (the last mount there wins): an initramfs (rootfs) cannot be pivot_root'ed away from.
while read -r dev mnt type rest; do [ "$mnt" = / ] && t=$type; done < /proc/mounts
say rootType "\${t:-}"
`;

/**
 * Per scenario, in the probe's scratch folder: the bundle (config.json from $1, made by TS), the inside
 * script as a file (the container's environment comes from config.json, which cannot hold it), the
 * container's id (named after the folder's random suffix: unique beyond this PID namespace) for the facts
 * command, and then runc itself with the state root $2, in the foreground: the container's first process
 * is a child of \`runc run\`, which stays its parent as a child subreaper.
 */
const LAUNCH_SH = `b=$NSLAB_DIR/bundle
mkdir "$b" && printf '%s' "$1" > "$b/config.json" && printf '%s' "$NSLAB_INNER" > "$NSLAB_DIR/inner" || exit 125
id=nslab-\${NSLAB_DIR##*.}
printf '%s\\n' "$id" > "$NSLAB_DIR/container" || exit 125
state=$2
shift 2
exec runc --root "$state" run "$@" --bundle "$b" "$id"`;

/** The facts command ($1: runc's state root): the container's id and what its state.json says its init is. */
const FACTS_SH = `id=$(cat "$NSLAB_DIR/container") || exit 1
s=$1/$id/state.json
echo "container=$id"; echo "stateFile=$s"
sed -n 's/.*"init_process_pid":\\([0-9]*\\).*/statePid=\\1/p' "$s"`;

/** close(): every container runc still knows in this run's state root is deleted, then the folder goes. */
const CLOSE_SH = `for id in $(runc --root "$1/state" list -q 2> /dev/null); do runc --root "$1/state" delete --force "$id"; done
rm -rf -- "$1"`;

/**
 * runc runs an OCI bundle whose root is one static busybox (see one-file-root.ts), as root, on the native
 * target and inside the VM (the image has Debian's runc). The container's init is the probe's inside shell.
 */
export class RuncRuntime implements Runtime {
  readonly name = 'runc' as const;
  private target: Target | undefined;
  /** This run's folder on the target: rootfs/ (the one-file root) and state/ (runc's --root). */
  private base: string | undefined;
  private noPivot = false;

  async prepare(
    target: Target,
    _info: TargetInfo,
    _preflight: Preflight | undefined,
    signal?: AbortSignal,
  ): Promise<{ info: RuntimeInfo; skip?: Skip }> {
    this.target = target;
    const r = await target.runProbe(PREPARE_SH, [], signal);
    const { facts, skip } = parsePrepareOutput(r.stdout);
    if (facts.base) this.base = facts.base;
    const info: RuntimeInfo = { name: 'runc', version: facts.version ?? 'unknown' };
    if (skip) return { info, skip };
    if (r.exitCode !== 0 || !this.base)
      throw new Error(`preparing runc failed (exit ${r.exitCode}): ${r.stderr.trim() || r.stdout.trim()}`);
    this.noPivot = facts.rootType === 'rootfs' || facts.rootType === 'ramfs';
    return { info };
  }

  refuses(request: IsolateRequest): Skip | undefined {
    if (!request.fork)
      return {
        reason: 'runtime-unsupported:nofork',
        detail: "a container's first process is always its PID namespace's init",
        hint: 'use --runtime unshare',
      };
    const lacking = request.namespaces.find(
      (ns) => !OCI_NAMESPACES.includes(ns) && !request.optional?.includes(ns),
    );
    if (lacking === undefined) return undefined;
    return {
      reason: `runtime-unsupported:${lacking}`,
      detail: `nslab's runc bundles make no ${lacking} namespace (${lacking === 'time' ? 'runc before 1.2 has none' : 'it would need uid and gid maps'})`,
      hint: 'use --runtime unshare',
    };
  }

  isolateArgv(request: IsolateRequest): string[] {
    if (!this.base) throw new Error('the runc runtime was not prepared');
    const config = ociConfig({
      rootfs: `${this.base}/rootfs`,
      args: ['/bin/sh', '-c', `. ${CONTAINER_PROBE_DIR}/inner`, ...request.insideArgs],
      namespaces: request.namespaces,
    });
    // Under an initramfs root (the VM's), runc must chroot: pivot_root cannot leave rootfs.
    return [
      'sh',
      '-c',
      LAUNCH_SH,
      'nslab-runc',
      JSON.stringify(config),
      `${this.base}/state`,
      ...(this.noPivot ? ['--no-pivot'] : []),
    ];
  }

  factsCommand(): string[] {
    if (!this.base) throw new Error('the runc runtime was not prepared');
    return ['sh', '-c', FACTS_SH, 'nslab-facts', `${this.base}/state`];
  }

  async close(): Promise<void> {
    const { target, base } = this;
    this.base = undefined;
    if (!target || !base) return;
    await target.runProbe(CLOSE_SH, [base]).catch(() => {});
  }
}
