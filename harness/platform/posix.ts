import { posix } from 'node:path';
import type { Platform, StopStep } from './types.ts';
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

export const pathDirs = (env: NodeJS.ProcessEnv, delimiter: string) =>
  (env.PATH ?? env.Path ?? '').split(delimiter).filter(Boolean);

/** What Linux and macOS share: POSIX paths and quoting, Unix sockets, signals and process groups. */
export const POSIX_COMMON: Pick<
  Platform,
  'path' | 'control' | 'interruptSignals' | 'exe' | 'pathDirs' | 'stopPlan' | 'treeKillArgv' | 'quote'
> = {
  path: posix,
  control: 'unix-socket',
  interruptSignals: POSIX_INTERRUPTS,
  exe: (name) => name,
  pathDirs: (env) => pathDirs(env, posix.delimiter),
  stopPlan: posixStopPlan,
  // Process groups are signalled directly; no command is needed.
  treeKillArgv: () => undefined,
  quote: (argv) => shellJoin(argv),
};
