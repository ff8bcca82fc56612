import type { StopStep } from './types.ts';
import { shellJoin } from '../util/shell-quote.ts';

/** Linux and macOS stop a QEMU the same way: QMP, then SIGTERM (QEMU exits cleanly), then SIGKILL. */
export function posixStopPlan(clean: boolean): StopStep[] {
  return [
    { do: 'qmp', command: clean ? 'system_powerdown' : 'quit', waitMs: clean ? 15_000 : 2000 },
    { do: 'signal', signal: 'SIGTERM', waitMs: 2000 },
    { do: 'signal', signal: 'SIGKILL', waitMs: 2000 },
  ];
}

/** SIGTERM is what `timeout`, systemd, `docker stop` and CI cancellation send; SIGHUP a closed terminal. */
export const POSIX_INTERRUPTS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export const posixQuote = (argv: readonly string[]) => shellJoin(argv);

export const pathDirs = (env: NodeJS.ProcessEnv, delimiter: string) =>
  (env.PATH ?? env.Path ?? '').split(delimiter).filter(Boolean);
