// The floor every VM benchmark compares with: a plain QEMU boot of nslab's own kernel + initrd with the same
// machine flags, waited for by a few lines of shell, then one `true` over OpenSSH. No nslab code runs in it.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { $ } from 'zx';

/**
 * Builds (or takes from the cache) the image, writes the keys and the script; returns one timed run. `accel`:
 * the accelerator nslab's own runs used here (read it from a report), so that both boot the same way.
 */
export async function prepareFloor(work, accel) {
  const built = JSON.parse((await $`node bin/nslab.mjs image build --json`).stdout);
  await $`node --import tsx bench/prepare-baseline.ts ${built.dir} ${work} ${accel ?? []}`;
  const qemuArgv = JSON.parse(readFileSync(join(work, 'argv.json'), 'utf8'));
  const script = join(work, 'baseline.sh');
  writeFileSync(
    script,
    `#!/bin/sh
# Boot, wait for the console's ready line, then for an SSH login that runs true; stop.
# The same machine flags as nslab uses. (Polling ssh before the guest has an address costs a 2 s timeout.)
shift
rm -f ${work}/console.log
"$@" >/dev/null 2>&1 &
n=0
until grep -q 'nslab: ready' ${work}/console.log 2>/dev/null; do
  n=$((n + 1)); [ $n -gt 6000 ] && { kill $!; exit 1; }; sleep 0.02
done
until ssh -q -i ${work}/client_key -o UserKnownHostsFile=${work}/known_hosts -o StrictHostKeyChecking=yes -o ConnectTimeout=2 -o BatchMode=yes -p 10122 root@127.0.0.1 true 2>/dev/null; do
  n=$((n + 1)); [ $n -gt 1200 ] && { kill $!; exit 1; }; sleep 0.05
done
kill $!; wait
`,
    { mode: 0o755 },
  );
  return () => $`sh ${script} ${work} ${qemuArgv}`;
}
