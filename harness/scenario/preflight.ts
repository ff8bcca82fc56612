import type { Preflight } from '../targets/preflight.ts';
import type { Skip } from '../targets/types.ts';
import type { Namespace, RuntimeName } from '../vocabulary.ts';
import { commandsFor, type Scenario } from './types.ts';

export { parsePreflight, PREFLIGHT_SCRIPT, type Preflight } from '../targets/preflight.ts';

/** The kernel option behind each namespace, for the skip reason `kernel-config:CONFIG_X`. */
const CONFIG: Record<Namespace, string> = {
  pid: 'CONFIG_PID_NS',
  mnt: 'CONFIG_NAMESPACES',
  uts: 'CONFIG_UTS_NS',
  ipc: 'CONFIG_IPC_NS',
  net: 'CONFIG_NET_NS',
  user: 'CONFIG_USER_NS',
  cgroup: 'CONFIG_CGROUPS',
  time: 'CONFIG_TIME_NS',
};

/**
 * The programs the scenarios run by name on the target (the first word of each command that runs under
 * this runtime), for the preflight. Under runc and docker the inside commands run in the container's own
 * root (busybox's applets), not on the target, so only the outside ones count there.
 */
export function toolsOf(scenarios: readonly Scenario[], runtime: RuntimeName = 'unshare'): string[] {
  const names = new Set<string>();
  for (const s of scenarios) {
    const commands = [
      ...(runtime === 'unshare' ? commandsFor(s.observe.inside.commands, runtime) : []),
      ...commandsFor(s.observe.outside.commands, runtime),
    ];
    for (const c of commands) if (c.run[0] && /^[A-Za-z0-9_.+-]+$/.test(c.run[0])) names.add(c.run[0]);
  }
  return [...names].sort();
}

/**
 * Whether a scenario can run on a target, from its preflight: every namespace it isolates exists in the
 * kernel (the observer has a link of that type) and every program it names is on PATH. (Whether the
 * runtime can make the namespaces is the runtime's to say.) Pure.
 */
export function preflightSkip(
  scenario: Scenario,
  pf: Preflight,
  runtime: RuntimeName = 'unshare',
): Skip | undefined {
  for (const ns of scenario.isolate.namespaces) {
    if (pf.ns[ns] === undefined)
      return {
        reason: `kernel-config:${CONFIG[ns]}`,
        detail: `this kernel has no ${ns} namespace (no /proc/self/ns/${ns}${pf.config[CONFIG[ns]] ? `; ${CONFIG[ns]}=${pf.config[CONFIG[ns]]}` : ''})`,
        hint: `use a kernel built with ${CONFIG[ns]}=y${ns === 'time' ? ' (Linux 5.6 or newer)' : ''}, or --target vm`,
      };
  }
  const missing = toolsOf([scenario], runtime).find((t) => pf.tools[t] === false);
  if (missing)
    return {
      reason: `tool-missing:${missing}`,
      detail: `${missing} is not on PATH here, and the scenario runs it`,
      hint: missing === 'unshare' || missing === 'nsenter' ? 'install util-linux' : `install ${missing}`,
    };
  return undefined;
}
