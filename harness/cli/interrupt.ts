import os from 'node:os';
import { ExitCode } from '../errors.ts';
import { hostPlatform, type Platform } from '../platform/index.ts';

/** What a command does on the first interrupt: stop at the next safe point (cleanup and report follow). */
export type InterruptHandler = (signal: NodeJS.Signals) => void;

const handlers: InterruptHandler[] = [];
let installed = false;
let received = 0;

/**
 * The exit code for a run ended by `signal`: 130 for Ctrl-C (as shells report it), else 128 + its number
 * (143 for SIGTERM), so that a CI log tells a cancellation from a failure. Pure.
 */
export function interruptExitCode(signal: NodeJS.Signals): number {
  if (signal === 'SIGINT') return ExitCode.interrupted;
  const n = os.constants.signals[signal];
  return n ? 128 + n : ExitCode.interrupted;
}

/**
 * Listens for every signal that means "stop" on this host (Ctrl-C; SIGTERM from `timeout`, systemd or CI
 * cancellation; SIGHUP; Ctrl-Break on Windows). The first goes to the innermost command's handler, which
 * stops and cleans up; with no handler, or on a second signal, the process exits at once, which still
 * kills the QEMU processes it owns (their 'exit' hook). Node's default for these signals would skip that.
 */
export function installInterruptHandling(platform: Platform = hostPlatform): void {
  if (installed) return;
  installed = true;
  for (const signal of platform.interruptSignals) {
    process.on(signal, () => {
      received++;
      const handler = handlers.at(-1);
      if (!handler || received > 1) process.exit(interruptExitCode(signal));
      handler(signal);
    });
  }
}

/** Makes `handler` the one the next interrupt goes to, until the returned function is called. */
export function onInterrupt(handler: InterruptHandler): () => void {
  handlers.push(handler);
  return () => {
    const i = handlers.lastIndexOf(handler);
    if (i >= 0) handlers.splice(i, 1);
  };
}
