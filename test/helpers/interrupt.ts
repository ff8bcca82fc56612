import type { ResultPromise } from 'execa';

/**
 * Sends `signal` (default SIGINT, Ctrl-C) to `child` `delayMs` after its stderr first says `text` (e.g. that
 * QEMU started): an interrupt mid-step.
 */
export function interruptWhen(
  child: ResultPromise,
  text: string,
  delayMs = 500,
  signal: NodeJS.Signals = 'SIGINT',
): void {
  let sent = false;
  child.stderr?.on('data', (d: Buffer) => {
    if (!sent && d.toString().includes(text)) {
      sent = true;
      setTimeout(() => child.kill(signal), delayMs);
    }
  });
}
