import { createHash } from 'node:crypto';
import type { Accel } from './accel.ts';

/** Bumped when what a snapshot holds or how it is restored changes: older snapshots are then not used. */
export const SNAPSHOT_FORMAT = 1;

/** Everything that makes a saved guest unusable for a boot when it differs. */
export interface SnapshotKeyInput {
  imageDigest: string;
  /** QEMU's real path and its `--version` line: another build may not load the state. */
  qemu: string;
  qemuVersion: string;
  accel: Accel;
  /** The host CPU's model under a hardware accelerator (the guest saw its features); '' under TCG. */
  hostCpu: string;
  memoryMiB: number;
  /** QEMU's arguments without the binary; per-run values are blanked by snapshotArgv. */
  argv: readonly string[];
}

/** Values that change at every boot and do not change the machine: the name, paths, ports. */
const PER_RUN: Record<string, (value: string) => string> = {
  '-name': () => '<name>',
  '-kernel': () => '<kernel>',
  '-initrd': () => '<initrd>',
  '-serial': (v) => v.replace(/^file:.*/, 'file:<console>'),
  '-qmp': () => '<qmp>',
  '-pidfile': () => '<pidfile>',
  '-netdev': (v) => v.replace(/hostfwd=tcp:127\.0\.0\.1:\d+-/, 'hostfwd=tcp:127.0.0.1:<port>-'),
  '-chardev': (v) => v.replace(/,(path=[^,]*|host=[^,]*,port=\d+)/, ',<address>'),
  '-object': (v) => v.replace(/,dir=.*$/, ',dir=<run folder>'),
};

/**
 * The machine part of a QEMU command line: per-run values blanked and `-incoming` dropped, so that a cold
 * boot and a restore of the same machine give the same list. Pure.
 */
export function snapshotArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '-incoming') {
      i++;
      continue;
    }
    out.push(flag);
    const blank = PER_RUN[flag];
    if (blank && i + 1 < argv.length) out.push(blank(argv[++i]!));
  }
  return out;
}

/** The snapshot's name: a hash of every input that would make it invalid. Pure. */
export function snapshotKey(input: SnapshotKeyInput): string {
  const canonical = {
    format: SNAPSHOT_FORMAT,
    imageDigest: input.imageDigest,
    qemu: input.qemu,
    qemuVersion: input.qemuVersion,
    accel: input.accel,
    hostCpu: input.accel === 'tcg' ? '' : input.hostCpu,
    memoryMiB: input.memoryMiB,
    argv: snapshotArgv(input.argv),
  };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, 24);
}
