import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { secretsMessage, type BootSecrets } from '../image/secrets.ts';
import { sleep } from '../util/process.ts';

/** Where QEMU listens for the boot's secrets: a Unix socket in the run folder, or TCP on 127.0.0.1 (Windows). */
export type SecretsAddress = { socket: string } | { port: number };

/** The console line the guest's init prints when it waits on the nslab.secrets port. */
export const SECRETS_WANTED = 'nslab: waiting for secrets';
/** The console line the guest's init prints once the keys are in their files. */
export const SECRETS_RECEIVED = 'nslab: secrets received';

function writeOnce(address: SecretsAddress, message: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock: Socket = 'socket' in address ? connect(address.socket) : connect(address.port, '127.0.0.1');
    sock.once('error', reject);
    sock.once('connect', () => sock.end(message, () => resolve()));
  });
}

/**
 * Hands this boot's keys, the time and fresh entropy to the guest. QEMU may not listen yet right after a
 * spawn: retried until `timeoutMs`. Only the host can write there: the socket is in the private run folder.
 */
export async function sendSecrets(
  address: SecretsAddress,
  secrets: BootSecrets,
  timeoutMs = 10_000,
): Promise<void> {
  const message = secretsMessage(secrets, Date.now(), randomBytes(64));
  const until = performance.now() + timeoutMs;
  for (;;) {
    try {
      return await writeOnce(address, message);
    } catch (error) {
      if (performance.now() > until)
        throw new Error(`could not hand the keys to the guest: ${(error as Error).message}`, {
          cause: error,
        });
      await sleep(10);
    }
  }
}
