import type { ResultPromise } from 'execa';

/** Resolves once `child`'s stderr first says `text` (e.g. that QEMU started). */
export function stderrSays(child: ResultPromise, text: string): Promise<void> {
  return new Promise((resolve) => {
    const onData = (d: Buffer) => {
      if (!d.toString().includes(text)) return;
      child.stderr?.off('data', onData);
      resolve();
    };
    child.stderr?.on('data', onData);
  });
}

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
  void stderrSays(child, text).then(() => setTimeout(() => child.kill(signal), delayMs));
}
