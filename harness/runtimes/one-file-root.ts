import type { Skip } from '../targets/types.ts';

/**
 * Shell text (POSIX sh, for the prepare scripts of runc and docker) that makes a root filesystem of one
 * file in the folder "$root": the target's statically linked busybox as /bin/sh, the seed's "scratch" image.
 * BusyBox, run as sh, runs its own applets (ls, ps, hostname...) without looking for them on PATH, so the
 * probe's inside script needs no other file. Plus empty folders where the runtime mounts things.
 * Prints `skip=`/`detail=` lines and exits 0 when it cannot; `say` is the caller's KEY=VALUE printer.
 */
export const ONE_FILE_ROOT_SH = `
bb=$(command -v busybox) || { say skip tool-missing:busybox; say detail "busybox is not on PATH"; exit 0; }
# A dynamically linked busybox names its loader (PT_INTERP: /lib64/ld-linux-x86-64.so.2, /lib/ld-musl-*.so.1), absent from a root of one file.
if grep -q -e /ld-linux -e /ld-musl "$bb"; then say skip tool-missing:busybox-static; say detail "$bb is dynamically linked"; exit 0; fi
mkdir -p "$root/bin" "$root/proc" "$root/dev" "$root/sys" "$root/tmp" "$root/nslab" && cp "$bb" "$root/bin/sh" || exit 70
`;

/** Parses a prepare script's KEY=VALUE lines; a `skip` line becomes a Skip with its `detail`. */
export function parsePrepareOutput(stdout: string): { facts: Record<string, string>; skip?: Skip } {
  const facts: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) facts[line.slice(0, eq)] = line.slice(eq + 1);
  }
  const reason = facts.skip;
  if (!reason) return { facts };
  return {
    facts,
    skip: { reason, detail: facts.detail ?? reason, ...(facts.hint ? { hint: facts.hint } : {}) },
  };
}
