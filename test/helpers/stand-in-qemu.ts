import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOnPath } from './tools.ts';

/**
 * How a stand-in QEMU behaves when nslab asks it for a hardware accelerator (kvm, hvf, whpx). Under tcg it
 * is the real QEMU. These reproduce, on any host, what some hosts do with a /dev/kvm that opens:
 * - `abort`: what QEMU 8 does under nested KVM: "failed to set MSR 0x10a", then SIGABRT;
 * - `silent`: the guest runs but never prints (QEMU 7 under the same nested KVM);
 * - `works`: a hardware accelerator that works (really TCG underneath, with a TCG-valid CPU model).
 */
export type StandInMode = 'abort' | 'silent' | 'works';

/** The real QEMU for this guest architecture, by a PATH lookup (undefined when it is not installed). */
export const realQemu = (arch: 'x86_64' | 'aarch64' = 'x86_64') => findOnPath(`qemu-system-${arch}`);

/** Writes an executable `qemu-system-x86_64` stand-in into `dir` and returns its path. */
export function standInQemu(dir: string, mode: StandInMode, real = realQemu()!): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'qemu-system-x86_64');
  const hardware = `case " $* " in *accel=kvm*|*accel=hvf*|*accel=whpx*) ;; *) exec "$REAL" "$@" ;; esac`;
  const body: Record<StandInMode, string> = {
    abort: `ulimit -c 0
echo "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69" >&2
echo "qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion \\\`ret == cpu->kvm_msr_buf->nmsrs' failed." >&2
kill -ABRT $$`,
    silent: rewrite('a=null', 'file:*'),
    works: rewrite('', ''),
  };
  writeFileSync(
    path,
    `#!/bin/sh\n# nslab test stand-in (${mode})\nREAL='${real}'\n${hardware}\n${body[mode]}\n`,
  );
  chmodSync(path, 0o755);
  return path;
}

/** Runs the real QEMU under TCG with a TCG-valid CPU; `serial` rewrites the console file argument. */
function rewrite(serialAction: string, serialPattern: string): string {
  const serial = serialPattern ? `\n    ${serialPattern}) ${serialAction} ;;` : '';
  return `for a; do
  shift
  case "$a" in
    *accel=kvm*|*accel=hvf*|*accel=whpx*) a=$(printf '%s' "$a" | sed 's/accel=[a-z]*/accel=tcg/') ;;
    host) a='qemu64,+rdrand' ;;${serial}
  esac
  set -- "$@" "$a"
done
exec "$REAL" "$@"`;
}
