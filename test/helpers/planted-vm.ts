import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { qemuArgv } from '../../harness/vm/qemu-argv.ts';
import type { VmState } from '../../harness/vm/state.ts';

/**
 * A VM folder as `nslab vm up` leaves it (0700 folder, 0600 state.json, client key, owner marker), with
 * the values a test wants in its state: to plant states that point at processes or ports nslab did not start.
 */
export function plantVmFolder(root: string, id: string, over: Partial<VmState> = {}): string {
  const dir = join(root, `vm-${id}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 }); // a test may have started a QEMU in it already
  const state: VmState = {
    id,
    name: `nslab-${id}`,
    pid: 999_999,
    ownerPid: 999_998,
    keep: true,
    sshPort: 2222,
    qmp: { socket: join(dir, 'qmp.sock') },
    accel: 'tcg',
    accelReason: 'planted by a test',
    arch: 'x86_64',
    imageDir: '/nonexistent',
    clientKeyFile: join(dir, 'client_key'),
    hostKeyBlob: 'AAAA',
    bootedAt: new Date().toISOString(),
    phases: {},
    guestUname: 'Linux planted',
    ...over,
  };
  writeFileSync(join(dir, 'state.json'), JSON.stringify(state), { mode: 0o600 });
  writeFileSync(join(dir, 'client_key'), 'not a key\n', { mode: 0o600 });
  writeFileSync(join(dir, 'owner'), String(state.ownerPid), { mode: 0o600 });
  return dir;
}

/**
 * A real QEMU with the -name, SSH forward, QMP socket and pidfile that nslab gives one (from qemuArgv), but
 * no guest (`-machine none`): cheap, and its command line is exactly what nslab checks.
 */
export function guestlessQemu(dir: string, id: string, sshPort: number): ResultPromise {
  const full = qemuArgv({
    platform: 'linux',
    guestArch: 'x86_64',
    accel: 'tcg',
    kernel: '/unused',
    initrd: '/unused',
    cmdline: '',
    sshPort,
    consoleLog: join(dir, 'console.log'),
    qmp: { socket: join(dir, 'qmp.sock') },
    pidfile: join(dir, 'qemu.pid'),
    name: `nslab-${id}`,
  });
  const keep = ['-name', '-netdev', '-qmp', '-pidfile'];
  const argv = ['-machine', 'none', '-nodefaults', '-no-user-config', '-display', 'none'];
  for (let i = 0; i < full.length; i++) if (keep.includes(full[i]!)) argv.push(full[i]!, full[i + 1]!);
  return execa('qemu-system-x86_64', argv, { reject: false, stdin: 'ignore' });
}
