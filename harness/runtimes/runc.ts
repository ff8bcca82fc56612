import type { Preflight } from '../targets/preflight.ts';
import type { Skip, Target, TargetInfo } from '../targets/types.ts';
import { CONTAINER_PROBE_DIR, OCI_NAMESPACES, ociConfig } from './oci-config.ts';
import { ONE_FILE_ROOT_SH, parsePrepareOutput } from './one-file-root.ts';
import type { IsolateRequest, Runtime, RuntimeInfo } from './types.ts';

/** runc keeps each container's state.json under its root; the default for root, named so facts can find it. */
export const RUNC_ROOT = '/run/runc';

/** Once per target: runc's version, the one-file root, and whether / can be pivoted away from. */
const PREPARE_SH = `set -u
say() { printf '%s=%s\\n' "$1" "$2"; }
command -v runc > /dev/null 2>&1 || { say skip tool-missing:runc; say detail "runc is not on PATH"; say hint "install runc (apt-get install runc)"; exit 0; }
[ "$(id -u)" = 0 ] || { say skip needs-root; say detail "runc runs containers as root here (rootless runc is not supported by nslab)"; say hint "run as root, or use --runtime unshare"; exit 0; }
v=$(runc --version 2>&1) || { say skip runtime-unavailable:runc; say detail "$v"; exit 0; }
say version "\${v%%
*}"
root=$(mktemp -d "\${TMPDIR:-/tmp}/nslab-runc-root.XXXXXX") || exit 70
say rootfs "$root"
${ONE_FILE_ROOT_SH}
chmod 755 "$root"
# The filesystem type of / (the last mount there wins): an initramfs (rootfs) cannot be pivot_root'ed away from.
while read -r dev mnt type rest; do [ "$mnt" = / ] && t=$type; done < /proc/mounts
say rootType "\${t:-}"
`;

/**
 * Per scenario, in the probe's scratch folder: the bundle (config.json from $1, made by TS), the inside
 * script as a file (the container's environment comes from config.json, which cannot hold it), the
 * container's id for the facts command, and then runc itself, in the foreground: the container's first
 * process is a child of \`runc run\`, which stays its parent as a child subreaper.
 */
const LAUNCH_SH = `b=$NSLAB_DIR/bundle
mkdir "$b" && printf '%s' "$1" > "$b/config.json" && printf '%s' "$NSLAB_INNER" > "$NSLAB_DIR/inner" || exit 125
id=nslab-$$
printf '%s\\n' "$id" > "$NSLAB_DIR/container" || exit 125
shift
exec runc --root ${RUNC_ROOT} run "$@" --bundle "$b" "$id"`;

/** The facts command: the container's id and what runc's state.json says its init process is. */
const FACTS_SH = `id=$(cat "$NSLAB_DIR/container") || exit 1
s=${RUNC_ROOT}/$id/state.json
echo "container=$id"; echo "stateFile=$s"
sed -n 's/.*"init_process_pid":\\([0-9]*\\).*/statePid=\\1/p' "$s"`;

/**
 * runc runs an OCI bundle whose root is one static busybox (see one-file-root.ts), as root, on the native
 * target and inside the VM (the image has Debian's runc). The container's init is the probe's inside shell.
 */
export class RuncRuntime implements Runtime {
  readonly name = 'runc' as const;
  private target: Target | undefined;
  private rootfs: string | undefined;
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
    if (facts.rootfs) this.rootfs = facts.rootfs;
    const info: RuntimeInfo = { name: 'runc', version: facts.version ?? 'unknown' };
    if (skip) return { info, skip };
    if (r.exitCode !== 0 || !this.rootfs)
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
    const lacking = request.namespaces.find((ns) => !OCI_NAMESPACES.includes(ns));
    if (lacking === undefined) return undefined;
    return {
      reason: `runtime-unsupported:${lacking}`,
      detail: `nslab's runc bundles make no ${lacking} namespace (${lacking === 'time' ? 'runc before 1.2 has none' : 'it would need uid and gid maps'})`,
      hint: 'use --runtime unshare',
    };
  }

  isolateArgv(request: IsolateRequest): string[] {
    if (!this.rootfs) throw new Error('the runc runtime was not prepared');
    const config = ociConfig({
      rootfs: this.rootfs,
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
      ...(this.noPivot ? ['--no-pivot'] : []),
    ];
  }

  factsCommand(): string[] {
    return ['sh', '-c', FACTS_SH];
  }

  async close(): Promise<void> {
    const { target, rootfs } = this;
    this.rootfs = undefined;
    if (!target || !rootfs) return;
    await target.runProbe('rm -rf -- "$1"', [rootfs]).catch(() => {});
  }
}
