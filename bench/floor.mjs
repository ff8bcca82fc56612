// The floors the VM and native benchmarks compare with. Each does the work of the nslab case it stands
// beside, by the shortest path and without nslab's code:
//   cold     plain QEMU with nslab's own command line for a cold boot (the same devices: the virtio-serial
//            secrets port, QMP, restrict=on), the secrets written to the port, then `ssh true` (OpenSSH);
//   restore  plain QEMU with nslab's restore command line, loading the same saved guest over QMP
//            (migrate-incoming, cont), the secrets written, then `ssh true`;
//   native   probe.sh run by `sh -s` with the words nslab gives it for pid-ns, no Node at all.
// The QMP and secrets steps are bench/floor-handover.mjs: a few lines of Node (shell has no Unix socket
// client), started in parallel with the boot as nslab's own side is.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { $ } from 'zx';

/**
 * Builds (or takes from the cache) the image and writes every floor's inputs; returns one timed run per
 * floor (restore only when nslab has saved a guest for this command line). `accel`: the accelerator nslab's
 * own runs used here (read from a report), so that both boot the same way. `env` holds NSLAB_RUNTIME_DIR.
 */
/** The native floor alone: probe.sh through `sh -s` with nslab's words for pid-ns, no Node. */
export async function prepareNativeFloor(work) {
  await $`node --import tsx bench/floor-prepare.ts - ${work} tcg`;
  return nativeFloor(work);
}

/** The native floor's run, from the native.json that floor-prepare.ts wrote. */
function nativeFloor(work) {
  const native = JSON.parse(readFileSync(join(work, 'native.json'), 'utf8'));
  return () => $`sh -s -- ${native.args} < ${native.script}`;
}

export async function prepareFloors(work, accel, env) {
  const built = JSON.parse((await $({ env })`node bin/nslab.mjs image build --json`).stdout);
  await $({ env })`node --import tsx bench/floor-prepare.ts ${built.dir} ${work} ${accel ?? 'auto'}`;
  const script = join(work, 'floor.sh');
  writeFileSync(
    script,
    `#!/bin/sh
# floor.sh DIR CONSOLE QMP SECRETS PORT STATE URI INHERIT -- QEMU ARGV...: boot (or restore), hand over the
# secrets, then one ssh true; stop QEMU.
dir=$1 console=$2 qmp=$3 secrets=$4 port=$5 state=$6 uri=$7 inherit=$8; shift 9
rm -rf "$dir"; mkdir -m 700 "$dir"
echo "[127.0.0.1]:$port $(cat ${work}/host_key.pub)" > "$dir/known_hosts"
if [ "$inherit" = 3 ]; then "$@" 3< "$state" >/dev/null 2>"$dir/err" & else "$@" >/dev/null 2>"$dir/err" & fi
q=$!
node bench/floor-handover.mjs "$qmp" "$secrets" ${work}/secrets.bin $uri || { kill $q; exit 1; }
n=0
until ssh -q -i ${work}/client_key -o UserKnownHostsFile="$dir/known_hosts" -o StrictHostKeyChecking=yes \\
    -o ConnectTimeout=2 -o BatchMode=yes -p "$port" root@127.0.0.1 true 2>/dev/null; do
  n=$((n + 1)); [ $n -gt 1200 ] && { kill $q; cat "$dir/err" >&2; exit 1; }; sleep 0.02
done
kill $q; wait
rm -rf "$dir"
`,
    { mode: 0o755 },
  );
  const run = (f, restore) => () =>
    $`sh ${script} ${f.dir} ${f.console} ${f.qmp} ${f.secrets} ${f.sshPort} ${restore ? f.state : '-'} ${restore ? f.uri : ''} ${restore ? String(f.inheritFd) : '-'} -- ${f.argv}`;
  const cold = JSON.parse(readFileSync(join(work, 'cold.json'), 'utf8'));
  const restorePath = join(work, 'restore.json');
  const restore = existsSync(restorePath) ? JSON.parse(readFileSync(restorePath, 'utf8')) : undefined;
  return {
    cold: run(cold, false),
    ...(restore ? { restore: run(restore, true) } : {}),
    native: nativeFloor(work),
  };
}
