import { readFileSync } from 'node:fs';
import { projectFile } from '../project-root.ts';
import type { Namespace } from '../vocabulary.ts';
import { TIME_CLOCKS, type CommandObservation, type Scenario, type TimeOffsets } from './types.ts';

/** The probe's text, sent to the target's `sh -s` on stdin; see probe.sh for the protocol. */
export const PROBE_SCRIPT = readFileSync(projectFile('harness', 'scenario', 'probe.sh'), 'utf8');

/**
 * util-linux and busybox `unshare` flags for each namespace. `pid` forks so that the child is PID 1; so
 * does `time`, a namespace made for children only: on older kernels (the VM's 6.1, unlike 6.18 here) exec
 * does not enter it, the shell stays outside, and its vfork fails ("Cannot fork": the kernel will not
 * share memory across time namespaces).
 */
const UNSHARE_FLAGS: Record<Namespace, string[]> = {
  pid: ['--pid', '--fork', '--mount-proc'],
  mnt: ['--mount'],
  uts: ['--uts'],
  ipc: ['--ipc'],
  net: ['--net'],
  user: ['--user', '--map-root-user'],
  cgroup: ['--cgroup'],
  time: ['--time', '--fork'],
};

export interface ProbeOptions {
  /** Words that run a POSIX shell for the inside, e.g. ['sh'] or ['busybox', 'sh']. */
  shell?: string[];
  /** Extra namespaces the target needs, e.g. `user` when it has no root (rootless). */
  extraNamespaces?: Namespace[];
}

/**
 * The unshare argv for a scenario, without duplicates, user namespace first (it must be created first),
 * and the time namespace's clock offsets (util-linux `--boottime`/`--monotonic`, seconds) after `--time`.
 * `fork: false` makes the PID namespace with a bare `--pid`: unshare execs the shell, which stays outside.
 */
export function unshareArgv(namespaces: readonly Namespace[], time?: TimeOffsets, fork = true): string[] {
  const ordered = [...new Set(namespaces)].sort((a, b) => (a === 'user' ? -1 : b === 'user' ? 1 : 0));
  // The loader allows `fork: false` only with pid and without time; checked here too, as for offsets.
  if (!fork && (!ordered.includes('pid') || ordered.includes('time')))
    throw new Error('fork: false needs the pid namespace and no time namespace');
  const flags = [
    ...new Set(ordered.flatMap((ns) => (ns === 'pid' && !fork ? ['--pid'] : UNSHARE_FLAGS[ns]))),
  ];
  const offsets = TIME_CLOCKS.flatMap((clock) => {
    const seconds = time?.[clock];
    return seconds === undefined ? [] : [`--${clock}`, String(seconds)];
  });
  // The loader allows offsets only with `time`; without it unshare would fail, so say so here instead.
  if (offsets.length > 0 && !ordered.includes('time'))
    throw new Error('time namespace offsets given without the time namespace');
  return ['unshare', ...flags, ...offsets];
}

function commandWords(commands: readonly CommandObservation[]): string[] {
  return [String(commands.length), ...commands.flatMap((c) => [c.name, String(c.run.length), ...c.run])];
}

/** The positional parameters for `sh -s -- ...` that run this scenario's probe. */
export function probeArgs(scenario: Scenario, options: ProbeOptions = {}): string[] {
  const shell = options.shell ?? ['sh'];
  const fork = scenario.isolate.fork ?? true;
  const isolate = [
    ...unshareArgv(
      [...(options.extraNamespaces ?? []), ...scenario.isolate.namespaces],
      scenario.isolate.time,
      fork,
    ),
    ...shell,
    '-c',
    'eval "$NSLAB_INNER"',
    'nslab-inside',
    ...commandWords(scenario.observe.inside.commands),
  ];
  return [
    fork ? 'fork' : 'nofork',
    String(isolate.length),
    ...isolate,
    ...commandWords(scenario.observe.outside.commands),
  ];
}

/** Raw probe records, key → text, in the order the probe printed them. */
export type ProbeRecords = Map<string, string>;

const KEY_RE = /^(probe|inside|outside)(\.[A-Za-z0-9_-]+)+$/;

/** Splits KEY NUL VALUE NUL records; a malformed stream is an error that quotes where it broke. */
export function parseProbeOutput(stdout: string): ProbeRecords {
  const parts = stdout.split('\0');
  const tail = parts.pop();
  if (tail !== '' || parts.length % 2 !== 0) {
    throw new Error(`probe output is cut short or malformed near: ${JSON.stringify(stdout.slice(-120))}`);
  }
  const records: ProbeRecords = new Map();
  for (let i = 0; i < parts.length; i += 2) {
    const key = parts[i]!;
    if (!KEY_RE.test(key))
      throw new Error(`probe output has an unexpected key ${JSON.stringify(key.slice(0, 80))}`);
    records.set(key, parts[i + 1]!);
  }
  return records;
}
