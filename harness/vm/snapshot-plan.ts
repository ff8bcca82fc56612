import os from 'node:os';
import { realpath } from 'node:fs/promises';
import type { Arch } from '../image/arch.ts';
import type { Accel, HostCpu } from './accel.ts';
import { qemuArgvFor } from './launch.ts';
import { parseQemuVersion, qemuVersionLine } from './qemu-binary.ts';
import { usesSecretsChannel } from './run-folder.ts';
import { migrationUris } from './snapshot.ts';
import { snapshotKey } from './snapshot-key.ts';
import { SnapshotStore, type FoundSnapshot } from './snapshot-store.ts';
import type { VmConfig } from './vm-config.ts';

/** What a boot under one accelerator can do with snapshots: the store, the key, and a saved guest if any. */
export interface SnapshotPlan {
  store: SnapshotStore;
  key: string;
  accel: Accel;
  version: [number, number, number] | undefined;
  versionLine: string;
  found?: FoundSnapshot;
}

/**
 * The snapshot a boot would restore from or save to, or undefined when there is none to have: turned off
 * (--no-snapshot), an image whose init takes its keys from the initrd, or a QEMU that cannot save to a file
 * here (said once on the log).
 */
export async function snapshotPlan(
  c: VmConfig,
  a: { qemu: string; guestArch: Arch; accel: Accel; hostCpu?: HostCpu },
): Promise<SnapshotPlan | undefined> {
  if (!c.snapshots || !usesSecretsChannel(c.image.manifest)) return undefined;
  const versionLine = await qemuVersionLine(a.qemu);
  const version = parseQemuVersion(versionLine);
  if (!migrationUris('-', version, c.platform)) {
    c.log(
      `vm: no snapshots with ${versionLine || a.qemu} on ${c.platform.os} (QEMU 8.2 or newer saves to a file)`,
    );
    return undefined;
  }
  // Per-run values are blanked by snapshotArgv: these placeholders only have to be of the right kind.
  const argv = qemuArgvFor(c, {
    guestArch: a.guestArch,
    accel: a.accel,
    ...(a.hostCpu ? { hostCpu: a.hostCpu } : {}),
    dir: 'run',
    name: 'vm',
    sshPort: 1,
    qmp: c.platform.control === 'tcp' ? { port: 1, pskDir: 'run' } : { socket: 'qmp' },
    secrets: c.platform.control === 'tcp' ? { port: 1, pskDir: 'run' } : { socket: 'secrets' },
  });
  const key = snapshotKey({
    imageDigest: c.image.manifest.digest,
    qemu: await realpath(a.qemu).catch(() => a.qemu),
    qemuVersion: versionLine,
    accel: a.accel,
    hostCpu: os.cpus()[0]?.model ?? '',
    memoryMiB: c.memoryMiB,
    argv,
  });
  const store = new SnapshotStore(c.image.dir);
  const found = await store.find(key);
  return { store, key, accel: a.accel, version, versionLine, ...(found ? { found } : {}) };
}
