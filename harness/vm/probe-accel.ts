import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { execa } from 'execa';
import type { Arch } from '../image/arch.ts';
import type { Platform } from '../platform/index.ts';
import { parseEntitlements, type AccelProbes } from './accel.ts';
import { kvmDevice } from './accel-verdict.ts';

/** Tries each accelerator the way it fails in practice, e.g. a /dev/kvm that exists but is not ours to open. */
export async function probeAccelerators(
  platform: Platform,
  qemu?: string,
  guestArch: Arch = 'x86_64',
): Promise<AccelProbes> {
  const probes: AccelProbes = { kvm: false, hvf: false, whpx: false };
  if (platform.accelerator === 'kvm') {
    try {
      const fh = await open(kvmDevice(), constants.O_RDWR);
      await fh.close();
      probes.kvm = true;
    } catch (error) {
      probes.kvm = false;
      probes.kvmError = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    }
  } else if (platform.accelerator === 'hvf') {
    const r = await execa('sysctl', ['-n', 'kern.hv_support'], { reject: false });
    probes.hvf = r.exitCode === 0 && r.stdout.trim() === '1';
    if (probes.hvf && qemu) {
      const c = await execa('codesign', ['-d', '--entitlements', '-', '--xml', qemu], { reject: false });
      const entitlement = parseEntitlements(c);
      if (entitlement) probes.hvfEntitlement = entitlement;
    }
    // Apple Silicon only: an Intel Mac has no such sysctl (non-zero exit), and needs none.
    const sme = await execa('sysctl', ['-n', 'hw.optional.arm.FEAT_SME'], { reject: false });
    if (sme.exitCode === 0) probes.sme = sme.stdout.trim() === '1';
  } else if (platform.accelerator === 'whpx' && qemu) {
    const r = await execa(qemu, whpxProbeArgv(guestArch), {
      reject: false,
      input: '{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n',
      timeout: 10_000,
    });
    probes.whpx = r.exitCode === 0;
  }
  return probes;
}

/**
 * The WHPX trial: QEMU with -S (no guest code runs) on the machine type nslab boots, quit over QMP. Not
 * `-M none`: QEMU 11.1 with WHPX aborts on it (X86_MACHINE assertion; gondolin PR 90), which would make a
 * working WHPX look absent. Pure.
 */
export function whpxProbeArgv(guestArch: Arch): string[] {
  const machine = guestArch === 'x86_64' ? 'q35' : 'virt';
  return ['-accel', 'whpx', '-M', machine, '-nodefaults', '-display', 'none', '-S', '-qmp', 'stdio'];
}
