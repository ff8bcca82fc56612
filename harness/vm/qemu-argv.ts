import type { Arch } from '../image/arch.ts';
import type { HostOs } from '../platform/index.ts';
import type { GuestNetwork } from '../vocabulary.ts';
import { cpuModel, type Accel, type HostCpu } from './accel.ts';
import { TLS_CREDS_ID, type ChannelAddress } from './control-channel.ts';

export interface QemuArgvInput {
  platform: HostOs;
  guestArch: Arch;
  accel: Accel;
  /** The host CPU facts that change `-cpu` under HVF (see cpuModel). */
  hostCpu?: HostCpu;
  kernel: string;
  initrd: string;
  cmdline: string;
  sshPort: number;
  consoleLog: string;
  /** A Unix socket path on POSIX hosts; a TCP port on 127.0.0.1 on Windows, with TLS-PSK from `pskDir`. */
  qmp: ChannelAddress;
  pidfile: string;
  name: string;
  memoryMiB?: number;
  cpus?: number;
  /**
   * The channel the boot's keys go over (images whose init waits on the virtio-serial port
   * nslab.secrets): a Unix socket in the VM's private folder, or a TCP port on 127.0.0.1 on Windows.
   */
  secrets?: ChannelAddress;
  /** Start paused, waiting for a saved guest to be loaded over QMP (migrate-incoming). */
  incoming?: boolean;
  /** Default isolated: restrict=on, the guest reaches nothing but its SSH forward. */
  guestNetwork?: GuestNetwork;
}

/**
 * The QEMU command line for every host OS, guest architecture and accelerator, in one place. Pure: the
 * snapshot tests pin each combination. Direct kernel boot; user-mode networking with the SSH forward on
 * 127.0.0.1 only, and unless opened no other way in or out (restrict=on: no route from the guest to the
 * host's loopback, its other addresses or beyond); the serial console to a file; QMP for control; no
 * display, no default devices.
 */
export function qemuArgv(i: QemuArgvInput): string[] {
  const machine =
    i.guestArch === 'x86_64'
      ? ['-machine', `q35,accel=${i.accel}`]
      : // virt: no highmem=off (QEMU 7+ handles a 36-bit IPA itself); gic v3 where HVF/KVM need it.
        ['-machine', `virt,accel=${i.accel}${i.accel === 'tcg' ? '' : ',gic-version=3'}`];
  const qmp =
    'socket' in i.qmp
      ? `unix:${i.qmp.socket},server=on,wait=off`
      : `tcp:127.0.0.1:${i.qmp.port},server=on,wait=off${tlsOf(i.qmp)}`;
  const pskDir = 'pskDir' in i.qmp ? i.qmp.pskDir : undefined;
  return [
    '-name', i.name,
    ...machine,
    '-cpu', cpuModel(i.accel, i.guestArch, i.hostCpu),
    '-smp', String(i.cpus ?? 2), // two: a run's scenarios go four at a time (README: QEMU)
    '-m', String(i.memoryMiB ?? 512),
    '-nodefaults',
    '-no-user-config',
    '-display', 'none',
    '-kernel', i.kernel,
    '-initrd', i.initrd,
    '-append', i.cmdline,
    '-netdev', `user,id=net0,${i.guestNetwork === 'open' ? '' : 'restrict=on,'}hostfwd=tcp:127.0.0.1:${i.sshPort}-:22`,
    '-device', 'virtio-net-pci,netdev=net0,romfile=', // no iPXE ROM: the kernel is booted directly
    '-device', 'virtio-rng-pci',
    '-serial', `file:${i.consoleLog}`,
    '-qmp', qmp,
    '-pidfile', i.pidfile,
    '-no-reboot',
    // TCP channels (Windows) take only TLS with this boot's key (see ChannelAddress).
    ...(pskDir ? ['-object', `tls-creds-psk,id=${TLS_CREDS_ID},endpoint=server,dir=${pskDir}`] : []),
    ...(i.secrets ? secretsChannel(i.secrets) : []),
    ...(i.incoming ? ['-incoming', 'defer'] : []),
  ]; // prettier-ignore
}

/** `,tls-creds=…` for a TCP channel with a key; nothing otherwise. */
const tlsOf = (a: ChannelAddress) => ('pskDir' in a && a.pskDir ? `,tls-creds=${TLS_CREDS_ID}` : '');

/** A virtio-serial port named nslab.secrets, backed by a socket that QEMU listens on and nslab writes to. */
function secretsChannel(address: ChannelAddress): string[] {
  const backend =
    'socket' in address
      ? `socket,id=secrets,path=${address.socket},server=on,wait=off`
      : `socket,id=secrets,host=127.0.0.1,port=${address.port},server=on,wait=off${tlsOf(address)}`;
  return [
    '-device', 'virtio-serial-pci,id=vser0',
    '-chardev', backend,
    '-device', 'virtserialport,bus=vser0.0,chardev=secrets,name=nslab.secrets',
  ]; // prettier-ignore
}
