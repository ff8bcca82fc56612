import { projectFile } from '../project-root.ts';
import { readShellScript } from '../util/text.ts';

/** The preflight's text, sent to a target's `sh -s` once before its scenarios; see preflight.sh. */
export const PREFLIGHT_SCRIPT = readShellScript(projectFile('harness', 'targets', 'preflight.sh'));

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
