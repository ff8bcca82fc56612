import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostArch, type Arch } from '../../harness/image/arch.ts';
import { cpuModel } from '../../harness/vm/accel.ts';
import { findOnPath } from './tools.ts';

/**
 * How a stand-in QEMU behaves when nslab asks it for a hardware accelerator (kvm, hvf, whpx). Under tcg it
 * is the real QEMU. These reproduce, on any host, what some hosts do with a /dev/kvm that opens:
 * - `abort`: what QEMU does under nested KVM on this project's machines (QEMU 7.2 here, and 8.x elsewhere):
 *   "failed to set MSR 0x10a", then SIGABRT (test/kvm-real.test.ts checks the real device);
 * - `silent`: the guest runs but never prints, as reported from other nested-KVM hosts;
 * - `stall`: the guest prints its kernel log and then stops short of readiness, as nested hypervisors on
 *   hosted runners do (WHPX on windows-2025, HVF on Intel macOS): its init is `cat`, which waits on the
 *   console for ever;
 * - `works`: a hardware accelerator that works (really TCG underneath, with a TCG-valid CPU model).
 */
export type StandInMode = 'abort' | 'silent' | 'stall' | 'works';

/** What the `abort` stand-in prints, by guest architecture (x86: asterinas issue 2980; arm: a KVM vCPU init error). */
export const ABORT_WORDS: Record<Arch, string> = {
  x86_64: 'failed to set MSR 0x10a to 0x69',
  aarch64: 'kvm_init_vcpu: kvm_arch_init_vcpu failed (0): Invalid argument',
};

/** The real QEMU for this guest architecture, by a PATH lookup (undefined when it is not installed). */
export const realQemu = (arch: Arch = hostArch()) => findOnPath(`qemu-system-${arch}`);

/** Writes an executable `qemu-system-<arch>` stand-in into `dir` and returns its path. */
export function standInQemu(dir: string, mode: StandInMode, arch: Arch = hostArch()): string {
  mkdirSync(dir, { recursive: true });
  const name = `qemu-system-${arch}`;
  const path = join(dir, name);
  const hardware = `case " $* " in *accel=kvm*|*accel=hvf*|*accel=whpx*) ;; *) exec "$REAL" "$@" ;; esac`;
  const body: Record<StandInMode, string> = {
    abort: `ulimit -c 0
echo "${name}: error: ${ABORT_WORDS[arch]}" >&2
echo "${name}: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion failed." >&2
kill -ABRT $$`,
    silent: rewrite(arch, 'a=null', 'file:*'),
    stall: rewrite(arch, 'a="$a rdinit=/bin/cat"', '*console=*'),
    works: rewrite(arch, '', ''),
  };
  writeFileSync(
    path,
    `#!/bin/sh\n# nslab test stand-in (${mode})\nREAL='${realQemu(arch)}'\n${hardware}\n${body[mode]}\n`,
  );
  chmodSync(path, 0o755);
  return path;
}

/** Runs the real QEMU under TCG with a TCG-valid CPU; `serial` rewrites the console file argument. */
function rewrite(arch: Arch, serialAction: string, serialPattern: string): string {
  const serial = serialPattern ? `\n    ${serialPattern}) ${serialAction} ;;` : '';
  return `for a; do
  shift
  case "$a" in
    *accel=kvm*|*accel=hvf*|*accel=whpx*) a=$(printf '%s' "$a" | sed 's/accel=[a-z]*/accel=tcg/; s/,gic-version=3//') ;;
    host) a='${cpuModel('tcg', arch)}' ;;${serial}
  esac
  set -- "$@" "$a"
done
exec "$REAL" "$@"`;
}
