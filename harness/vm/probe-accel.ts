import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { execa } from 'execa';
import type { AccelProbes } from './accel.ts';
import { kvmDevice } from './accel-verdict.ts';

/** Tries each accelerator the way it fails in practice, e.g. a /dev/kvm that exists but is not ours to open. */
export async function probeAccelerators(platform: NodeJS.Platform, qemu?: string): Promise<AccelProbes> {
  const probes: AccelProbes = { kvm: false, hvf: false, whpx: false };
  if (platform === 'linux') {
    try {
      const fh = await open(kvmDevice(), constants.O_RDWR);
      await fh.close();
      probes.kvm = true;
    } catch {
      probes.kvm = false;
    }
  } else if (platform === 'darwin') {
    const r = await execa('sysctl', ['-n', 'kern.hv_support'], { reject: false });
    probes.hvf = r.exitCode === 0 && r.stdout.trim() === '1';
  } else if (platform === 'win32' && qemu) {
    const r = await execa(qemu, ['-accel', 'whpx', '-M', 'none', '-display', 'none', '-S', '-qmp', 'stdio'], {
      reject: false,
      input: '{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n',
      timeout: 10_000,
    });
    probes.whpx = r.exitCode === 0;
  }
  return probes;
}
