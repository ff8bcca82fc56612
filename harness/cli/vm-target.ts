import { EnvironmentError } from '../errors.ts';
import type { Target } from '../target/types.ts';

/** The VM target arrives with the VM issue; until then asking for it is an environment error (exit 3). */
export async function createVmTarget(_options: { keep: boolean }): Promise<Target> {
  throw new EnvironmentError(
    'the vm target is not available in this version of nslab',
    'use --target native on Linux',
  );
}
