import type { TargetDriver } from '../driver.ts';
import { NativeTarget } from './target.ts';

/** This Linux host itself: the probe runs here, as root, through sudo -n, or rootless in a user namespace. */
export const nativeDriver: TargetDriver = {
  kind: 'native',
  summary: 'native (this Linux host)',
  inAll: () => true,
  create: () => new NativeTarget(),
};
