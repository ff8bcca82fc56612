import type { Preflight } from '../targets/preflight.ts';
import type { Skip } from '../targets/types.ts';
import type { Namespace } from '../vocabulary.ts';
import type { Scenario } from './types.ts';

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

/** The programs a scenario runs by name (the first word of each command), for the preflight. */
export function toolsOf(scenarios: readonly Scenario[]): string[] {
  const names = new Set<string>();
  for (const s of scenarios)
    for (const c of [...s.observe.inside.commands, ...s.observe.outside.commands])
      if (c.run[0] && /^[A-Za-z0-9_.+-]+$/.test(c.run[0])) names.add(c.run[0]);
  return [...names].sort();
}

/**
 * Whether a scenario can run on a target, from its preflight: every namespace it isolates exists in the
 * kernel (the observer has a link of that type) and every program it names is on PATH. (Whether the
 * runtime can make the namespaces is the runtime's to say.) Pure.
 */
export function preflightSkip(scenario: Scenario, pf: Preflight): Skip | undefined {
  for (const ns of scenario.isolate.namespaces) {
    if (pf.ns[ns] === undefined)
      return {
        reason: `kernel-config:${CONFIG[ns]}`,
        detail: `this kernel has no ${ns} namespace (no /proc/self/ns/${ns}${pf.config[CONFIG[ns]] ? `; ${CONFIG[ns]}=${pf.config[CONFIG[ns]]}` : ''})`,
        hint: `use a kernel built with ${CONFIG[ns]}=y${ns === 'time' ? ' (Linux 5.6 or newer)' : ''}, or --target vm`,
      };
  }
  const missing = toolsOf([scenario]).find((t) => pf.tools[t] === false);
  if (missing)
    return {
      reason: `tool-missing:${missing}`,
      detail: `${missing} is not on PATH here, and the scenario runs it`,
      hint: missing === 'unshare' || missing === 'nsenter' ? 'install util-linux' : `install ${missing}`,
    };
  return undefined;
}
