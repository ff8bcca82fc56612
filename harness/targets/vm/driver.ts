import type { Command } from 'commander';
import type { TargetDriver } from '../driver.ts';
import { addVmOptions, createVmTarget, type VmCliOptions } from './options.ts';

/** A QEMU VM booted from linuxkit.yml's image: the probe runs in its Linux, QEMU is one process on the host. */
export const vmDriver: TargetDriver = {
  kind: 'vm',
  summary: 'vm (a QEMU VM)',
  inAll: () => true,
  addOptions: (cmd: Command) =>
    addVmOptions(
      cmd.option('--keep', 'vm: leave the VM running afterwards, for inspection (nslab vm down stops it)'),
    ),
  create: (o) => {
    const options = o as unknown as VmCliOptions & { keep?: boolean };
    return createVmTarget({ ...options, keep: options.keep ?? false });
  },
};
