import { TARGET_KINDS, type TargetKind } from '../vocabulary.ts';
import type { TargetDriver } from './driver.ts';
import { engineDriver } from './engine/driver.ts';
import { nativeDriver } from './native/driver.ts';
import { vmDriver } from './vm/driver.ts';
import { wslDriver } from './wsl/driver.ts';

/** Every target nslab knows, in the order a run takes them (and `--help` lists them). */
export const TARGET_DRIVERS: readonly TargetDriver[] = [nativeDriver, vmDriver, wslDriver, engineDriver];

export function driverFor(kind: TargetKind): TargetDriver {
  const driver = TARGET_DRIVERS.find((d) => d.kind === kind);
  if (!driver) throw new Error(`no driver for target kind ${kind}`);
  return driver;
}

/** The kinds `--target all` runs on this host. */
export const kindsInAll = (os: NodeJS.Platform): TargetKind[] =>
  TARGET_DRIVERS.filter((d) => d.inAll(os)).map((d) => d.kind);

// Every kind of the vocabulary has its driver (checked once, at load: a missing one is a programming error).
for (const kind of TARGET_KINDS) driverFor(kind);
