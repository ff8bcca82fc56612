import { ACCELS, chooseAccelerator, type Accel, type AccelProbes } from '../../harness/vm/accel.ts';
import { ARCHES, type Arch } from '../../harness/image/arch.ts';
import { platformFor } from '../../harness/platform/index.ts';

export const PLATFORMS = ['linux', 'darwin', 'win32'] as const;

export interface ArgvCombination {
  platform: (typeof PLATFORMS)[number];
  guestArch: Arch;
  accel: Accel;
}

const PROBE_RESULTS: AccelProbes[] = [false, true].flatMap((kvm) =>
  [false, true].flatMap((hvf) => [false, true].map((whpx) => ({ kvm, hvf, whpx }))),
);

/**
 * Every (platform, guest, accelerator) that a QEMU command line can be built for, asked of chooseAccelerator
 * itself over every host architecture, request and probe result: a combination it never returns (kvm on
 * macOS, say) is not in the matrix, and cannot come back into it unless chooseAccelerator starts to return it.
 */
export function possibleCombinations(): ArgvCombination[] {
  const found = new Map<string, ArgvCombination>();
  for (const platform of PLATFORMS)
    for (const hostArch of ARCHES)
      for (const guestArch of ARCHES)
        for (const requested of ACCELS)
          for (const probes of PROBE_RESULTS) {
            const d = chooseAccelerator({
              platform: platformFor(platform),
              hostArch,
              guestArch,
              requested,
              probes,
            });
            if (!('accel' in d)) continue;
            const c = { platform, guestArch, accel: d.accel };
            found.set(combinationName(c), c);
          }
  return [...found.values()];
}

export const combinationName = (c: ArgvCombination) => `${c.platform} ${c.guestArch} ${c.accel}`;
