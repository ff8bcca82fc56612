import { describe, expect, it } from 'vitest';
import type { EngineBackend, EngineFacts } from './backend.ts';
import { detectBackend } from './backend.ts';
import {
  findVmProcess,
  gatherHostProcesses,
  NSLAB_QEMU_PID,
  pidFilesFor,
  type HostProcess,
} from './vm-process.ts';

const HOME = '/Users/me';
const backend = (
  info: Record<string, unknown>,
  hostOs: string,
  extra: Partial<EngineFacts> = {},
): EngineBackend => detectBackend({ info, hostOs, ...extra });
const ps = (pid: number, comm: string, args = comm): HostProcess => ({ pid, ppid: 1, comm, args });
const noise = [
  ps(1, '/sbin/launchd'),
  ps(300, '/usr/bin/ssh', 'ssh host'),
  ps(301, 'qemu-system-aarch64', 'qemu-system-aarch64 -m 512 other.img'),
];

describe('findVmProcess', () => {
  it('native dockerd: no VM', () => {
    const b = backend({ OperatingSystem: 'Debian GNU/Linux 12 (bookworm)' }, 'linux');
    expect(findVmProcess(b, noise, {}, HOME)).toEqual({
      notVisible: "no VM: the engine runs on this host's kernel",
    });
  });

  it('nslab engine VM: the QEMU pid from its state, checked to be qemu-system-*', () => {
    const b = backend({ OperatingSystem: 'nslab engine VM' }, 'linux');
    const qemu = ps(4242, 'qemu-system-x86_64', 'qemu-system-x86_64 -machine q35 ...');
    expect(findVmProcess(b, [...noise, qemu], { [NSLAB_QEMU_PID]: '4242' }, HOME)).toMatchObject({
      pid: 4242,
    });
    expect(findVmProcess(b, noise, { [NSLAB_QEMU_PID]: '4242' }, HOME)).toHaveProperty('notVisible');
    expect(findVmProcess(b, [...noise, ps(4242, 'bash')], { [NSLAB_QEMU_PID]: '4242' }, HOME)).toHaveProperty(
      'notVisible',
    );
    expect(findVmProcess(b, [...noise, qemu], {}, HOME)).toHaveProperty('notVisible');
  });

  it('colima: the pid files of its Lima instance under ~/.colima/_lima', () => {
    const facts: EngineFacts = {
      info: {},
      context: {
        Name: 'colima',
        Endpoints: { docker: { Host: `unix://${HOME}/.colima/default/docker.sock` } },
      },
      hostOs: 'darwin',
    };
    const b = detectBackend(facts);
    const files = pidFilesFor(b, HOME, facts);
    expect(files).toContain(`${HOME}/.colima/_lima/colima/qemu.pid`);
    expect(files).toContain(`${HOME}/.colima/_lima/colima/vz.pid`);
    expect(files).toContain(`${HOME}/.colima/_lima/colima/ha.pid`);
    const qemu = ps(900, 'qemu-system-aarch64', 'qemu-system-aarch64 ... colima');
    expect(
      findVmProcess(b, [...noise, qemu], { [`${HOME}/.colima/_lima/colima/qemu.pid`]: '900\n' }, HOME),
    ).toEqual({
      pid: 900,
      what: "QEMU (qemu-system-aarch64), colima's Lima VM",
      how: `pid file ${HOME}/.colima/_lima/colima/qemu.pid`,
    });
    // vz: the VM runs inside the host agent, whose pid vz.pid holds.
    const ha = ps(901, 'limactl', 'limactl hostagent --pidfile ... colima');
    expect(
      findVmProcess(b, [...noise, ha], { [`${HOME}/.colima/_lima/colima/vz.pid`]: '901' }, HOME),
    ).toMatchObject({
      pid: 901,
      what: expect.stringContaining('Virtualization.framework'),
    });
    // A stale pid file is no match, and nothing else is guessed (process 301 is some other QEMU).
    expect(findVmProcess(b, noise, { [`${HOME}/.colima/_lima/colima/qemu.pid`]: '999' }, HOME)).toEqual({
      notVisible: expect.stringContaining('not running'),
    });
    expect(findVmProcess(b, noise, {}, HOME)).toHaveProperty('notVisible');
  });

  it('colima profile and Lima instance from the socket; Rancher Desktop from its LIMA_HOME', () => {
    const colima: EngineFacts = {
      info: {},
      dockerHost: `unix://${HOME}/.colima/work/docker.sock`,
      hostOs: 'darwin',
    };
    expect(pidFilesFor(detectBackend(colima), HOME, colima)).toContain(
      `${HOME}/.colima/_lima/colima-work/qemu.pid`,
    );
    const lima: EngineFacts = {
      info: {},
      dockerHost: `unix://${HOME}/.lima/docker/sock/docker.sock`,
      hostOs: 'darwin',
    };
    expect(pidFilesFor(detectBackend(lima), HOME, lima)).toContain(`${HOME}/.lima/docker/qemu.pid`);
    const rd: EngineFacts = { info: { Name: 'lima-rancher-desktop' }, hostOs: 'darwin' };
    expect(pidFilesFor(detectBackend(rd), HOME, rd)).toContain(
      `${HOME}/Library/Application Support/rancher-desktop/lima/0/qemu.pid`,
    );
    const native: EngineFacts = { info: {}, hostOs: 'linux' };
    expect(pidFilesFor(detectBackend(native), HOME, native)).toEqual([]);
  });

  it('Docker Desktop on macOS: its VM process by name; on Windows the WSL 2 VM is not visible', () => {
    const mac = backend({ OperatingSystem: 'Docker Desktop' }, 'darwin');
    const vm = ps(
      777,
      '/Applications/Docker.app/Contents/MacOS/com.docker.virtualization',
      '/Applications/Docker.app/Contents/MacOS/com.docker.virtualization --kernel ...',
    );
    expect(findVmProcess(mac, [...noise, vm], {}, HOME)).toMatchObject({
      pid: 777,
      how: 'process name com.docker.virtualization',
    });
    expect(findVmProcess(mac, noise, {}, HOME)).toHaveProperty('notVisible');
    const win = backend(
      { OperatingSystem: 'Docker Desktop', KernelVersion: '5.15.167.4-microsoft-standard-WSL2' },
      'win32',
    );
    expect(findVmProcess(win, [], {}, HOME)).toEqual({ notVisible: expect.stringContaining('vmmem') });
  });

  it('OrbStack: OrbStack Helper', () => {
    const b = backend({ OperatingSystem: 'OrbStack' }, 'darwin');
    const helper = ps(
      555,
      '/Applications/OrbStack.app/Contents/Frameworks/OrbStack Helper.app/Contents/MacOS/OrbStack Helper',
    );
    expect(findVmProcess(b, [...noise, helper], {}, HOME)).toMatchObject({ pid: 555 });
    expect(findVmProcess(b, noise, {}, HOME)).toHaveProperty('notVisible');
  });

  it('Podman machine: vfkit / krunkit / qemu with the machine in its arguments, never any QEMU', () => {
    const b = detectBackend({
      info: {},
      version: { Server: { Components: [{ Name: 'Podman Engine' }] } },
      hostOs: 'darwin',
    });
    const vfkit = ps(
      660,
      '/opt/podman/bin/vfkit',
      `/opt/podman/bin/vfkit --device virtio-blk,path=${HOME}/.local/share/containers/podman/machine/applehv/podman-machine-default-arm64.raw`,
    );
    expect(findVmProcess(b, [...noise, vfkit], {}, HOME)).toMatchObject({ pid: 660 });
    expect(findVmProcess(b, noise, {}, HOME)).toHaveProperty('notVisible');
  });

  it('an unknown backend: not visible, with the reason', () => {
    const b = backend({ OperatingSystem: 'Something' }, 'darwin');
    expect(findVmProcess(b, noise, {}, HOME)).toEqual({
      notVisible: expect.stringContaining('not recognised'),
    });
  });
});

describe('gatherHostProcesses (a real run on this machine)', () => {
  it('lists this process, with its parent', async () => {
    const list = await gatherHostProcesses();
    const me = list.find((p) => p.pid === process.pid);
    expect(me).toBeDefined();
    expect(me?.ppid).toBe(process.ppid);
    expect(me?.args).toContain('node');
  });

  it('returns nothing on Windows, and findVmProcess then says not visible', async () => {
    expect(await gatherHostProcesses({ platform: 'win32' })).toEqual([]);
  });
});
