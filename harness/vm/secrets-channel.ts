import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { secretsMessage, type BootSecrets } from '../image/secrets.ts';
import { sleep } from '../util/process.ts';
import { connectChannel, type ChannelAddress } from './control-channel.ts';

/** Where QEMU listens for the boot's secrets: like QMP (see ChannelAddress). */
export type SecretsAddress = ChannelAddress;

/** The console line the guest's init prints when it waits on the nslab.secrets port. */
export const SECRETS_WANTED = 'nslab: waiting for secrets';
/** The console line the guest's init prints once the keys are in their files. */
export const SECRETS_RECEIVED = 'nslab: secrets received';

function writeOnce(address: SecretsAddress, message: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connectChannel(address, () => sock.end(message, () => resolve()));
    sock.once('error', reject);
  });
}

/**
 * Hands this boot's keys, the time and fresh entropy to the guest. QEMU may not listen yet right after a
 * spawn: retried until `timeoutMs`. Only this user can write there: the socket is in the private run
 * folder, or (Windows) the port takes only TLS with this boot's key.
 */
export async function sendSecrets(
  address: SecretsAddress,
  secrets: BootSecrets,
  timeoutMs = 10_000,
): Promise<void> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    try {
      // The time of this attempt: the guest sets its clock from it, and retries must not make it stale.
      return await writeOnce(address, secretsMessage(secrets, Date.now(), randomBytes(64)));
    } catch (error) {
      if (performance.now() > until)
        throw new Error(`could not hand the keys to the guest: ${(error as Error).message}`, {
          cause: error,
        });
      await sleep(10);
    }
  }
}
