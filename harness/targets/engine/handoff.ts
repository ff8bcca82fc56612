// The engine target's probe runs in two containers of the engine, since the `docker` CLI (which starts the
// isolated container) is on the host and the outside view (/proc of the engine's kernel) is in the engine's VM:
//
//   helper     --pid=host, CAP_SYS_PTRACE: runs probe.sh, which starts HANDOFF_SH as its "isolate" command;
//   isolated   the scenario's namespaces: waits for the probe's folder, then becomes the inside script.
//
// Both mount one volume at VOLUME_DIR, so the probe's folder (mktemp under TMPDIR=VOLUME_DIR) has the same
// path in both, and its FIFOs work as they do on one host: they are in one kernel, the engine's.

/** Where the per-probe volume is mounted in both containers. */
export const VOLUME_DIR = '/nslab-run';

/**
 * In the helper, as probe.sh's isolate command: hand the inside script to the isolated container (written
 * whole, then renamed, so that it never reads half), then live as long as the isolated container does: it
 * holds the `alive` FIFO open for writing until it ends, when this read sees end of file.
 */
export const HANDOFF_SH = `mkfifo "$NSLAB_DIR/alive" || exit 125
printf '%s' "$NSLAB_INNER" > "$NSLAB_DIR/inner.tmp" && mv "$NSLAB_DIR/inner.tmp" "$NSLAB_DIR/inner" || exit 125
read -r _ < "$NSLAB_DIR/alive"
exit 0`;

/**
 * In the isolated container, as its PID 1: wait (bounded) for the probe's folder, take the inside script,
 * open `alive` for the helper, and run the inside script in this very process, so that it is PID 1 as a
 * docker runtime's container init is. $0 and the arguments are the inside script's own.
 */
export const ENTRY_SH = `i=0
while :; do
  for f in ${VOLUME_DIR}/*/inner; do [ -f "$f" ] && break 2; done
  i=$((i + 1)); [ "$i" -lt 3000 ] || { echo "nslab: no probe folder in ${VOLUME_DIR} after 30 s" >&2; exit 125; }
  sleep 0.01
done
NSLAB_DIR=\${f%/inner}
NSLAB_INNER=$(cat "$f") || exit 125
export NSLAB_DIR NSLAB_INNER
exec 9> "$NSLAB_DIR/alive"
eval "$NSLAB_INNER"`;

/** The helper's namespaces: the engine VM's own, so that its view is the VM's (PIDs, hostname, network). */
export const HELPER_FLAGS = [
  '--pid=host',
  '--uts=host',
  '--ipc=host',
  '--network=host',
  '--cgroupns=host',
  // To read other processes' namespace links (ptrace read access); signals between root processes need no
  // more. Not --privileged: some hosts' daemons cannot grant every capability (this one lacks SYS_RESOURCE).
  '--cap-add=SYS_PTRACE',
] as const;

/** probe.sh's records for an isolated container that did not start (the shape probe.sh itself prints). */
export function isolateFailedRecords(exitCode: number, stderr: string): string {
  return `probe.isolate.exit\0${exitCode}\0probe.isolate.stderr\0${stderr.replaceAll('\0', '')}\0`;
}
