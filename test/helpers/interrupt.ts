import type { ResultPromise } from 'execa';

/** Sends SIGINT to `child` `delayMs` after its stderr first says `text` (e.g. that QEMU started): Ctrl-C mid-step. */
export function interruptWhen(child: ResultPromise, text: string, delayMs = 500): void {
  let sent = false;
  child.stderr?.on('data', (d: Buffer) => {
    if (!sent && d.toString().includes(text)) {
      sent = true;
      setTimeout(() => child.kill('SIGINT'), delayMs);
    }
  });
}
