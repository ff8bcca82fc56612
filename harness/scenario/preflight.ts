import { readFileSync } from 'node:fs';
import { projectFile } from '../project-root.ts';
import type { Skip } from '../targets/types.ts';
import type { Namespace } from '../vocabulary.ts';
import type { Scenario } from './types.ts';

/** The preflight's text, sent to a target's `sh -s` once before its scenarios; see preflight.sh. */
export const PREFLIGHT_SCRIPT = readFileSync(projectFile('harness', 'scenario', 'preflight.sh'), 'utf8');

/** What a target offers the scenarios, as the preflight found it. Recorded in the report, per target. */
export interface Preflight {
  uid?: number;
  /** Effective capabilities, the hex mask of /proc/self/status. */
  capEff?: string;
  /** The observer's namespace links by type (pid, pid_for_children, ..., time). */
  ns: Record<string, string>;
  sysctl: Record<string, number>;
  /** The kernel's CONFIG_*_NS options where its config is readable (/proc/config.gz, /boot/config-<release>). */
  config: Record<string, string>;
  /** Each tool the scenarios name: found on PATH or not. */
  tools: Record<string, boolean>;
  /** `unshare --version`'s first line: util-linux or BusyBox. */
  unshare?: string;
}

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

/** The programs a scenario runs by name (the first word of each command), plus unshare; for the preflight. */
export function toolsOf(scenarios: readonly Scenario[]): string[] {
  const names = new Set(['unshare']);
  for (const s of scenarios)
    for (const c of [...s.observe.inside.commands, ...s.observe.outside.commands])
      if (c.run[0] && /^[A-Za-z0-9_.+-]+$/.test(c.run[0])) names.add(c.run[0]);
  return [...names].sort();
}

/** Parses the preflight's KEY=VALUE lines. Pure. */
export function parsePreflight(stdout: string): Preflight {
  const pf: Preflight = { ns: {}, sysctl: {}, config: {}, tools: {} };
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1).trim();
    const [head, ...rest] = key.split('.');
    const sub = rest.join('.');
    if (key === 'uid' && /^\d+$/.test(value)) pf.uid = Number(value);
    else if (key === 'capeff') pf.capEff = value;
    else if (key === 'unshare') pf.unshare = value;
    else if (head === 'ns' && sub) pf.ns[sub] = value;
    else if (head === 'sysctl' && sub && /^-?\d+$/.test(value)) pf.sysctl[sub] = Number(value);
    else if (head === 'config' && sub) pf.config[sub] = value;
    else if (head === 'tool' && sub) pf.tools[sub] = value === 'yes';
  }
  return pf;
}

/**
 * Whether a scenario can run on a target, from its preflight: every namespace it isolates exists in the
 * kernel (the observer has a link of that type), unshare and every program it names are on PATH, and
 * unshare can make each namespace (BusyBox's has no --cgroup or --time). Pure.
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
  const busybox = /busybox/i.test(pf.unshare ?? '');
  const lacking = scenario.isolate.namespaces.find((ns) => busybox && (ns === 'cgroup' || ns === 'time'));
  if (lacking)
    return {
      reason: 'tool-missing:unshare',
      detail: `this unshare is BusyBox's (${pf.unshare}), which cannot make a ${lacking} namespace`,
      hint: "install util-linux's unshare",
    };
  return undefined;
}
