import type { Accel } from './accel.ts';
import { planBoot, rememberedFailure } from './boot-plan.ts';
import { qemuArgvFor, qmpAddressFor, secretsAddressFor } from './launch.ts';
import { freePort } from './port.ts';
import { newVmId, runFolderPath, vmName } from './run-folder.ts';
import { runtimeDir } from './runtime-dir.ts';
import { snapshotPlan } from './snapshot-plan.ts';
import { checkSocketRoom } from './socket-room.ts';
import type { VmConfig } from './vm-config.ts';

/**
 * The exact command the next boot would run first (`--show-command`), without booting. Only the VM's id
 * (its name and run folder) and the SSH port are picked anew by each boot. With a fallback planned, the
 * TCG command too (a fallback boot also gets a new id).
 */
export async function showCommand(c: VmConfig): Promise<PlannedCommand[]> {
  const { qemu, guestArch, hostCpu, decision, accels, remembered } = await planBoot(c);
  rememberedFailure(c, decision, remembered); // says so on the log, as a boot would
  const id = newVmId();
  const dir = runFolderPath(checkSocketRoom(c, runtimeDir()), id);
  const sshPort = c.sshPort ?? (await freePort());
  const qmp = await qmpAddressFor(c, dir);
  const secrets = await secretsAddressFor(c, dir);
  const argv = (accel: Accel, incoming = false) => [
    qemu,
    ...qemuArgvFor(c, { guestArch, accel, hostCpu, dir, name: vmName(id), sshPort, qmp, secrets, incoming }),
  ];
  const cold: PlannedCommand[] = accels.map((accel) => ({ accel, argv: argv(accel) }));
  const snap = await snapshotPlan(c, { qemu, guestArch, hostCpu, accel: accels[0]! });
  if (!snap?.found) return cold;
  return [
    {
      accel: snap.accel,
      argv: argv(snap.accel, true),
      comment: `restores the saved guest ${snap.found.state} (QMP migrate-incoming), then hands over this boot's keys:`,
    },
    { ...cold[0]!, comment: 'if the saved guest does not come up, nslab boots cold (with a new id):' },
    ...cold.slice(1),
  ];
}

/** One command line a boot would run; `comment` says when (the restore, and the cold boot after it). */
export interface PlannedCommand {
  accel: Accel;
  argv: string[];
  comment?: string;
}
