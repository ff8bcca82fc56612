import { parseRuntimeFacts, type RuntimeFacts } from '../runtimes/index.ts';
import type { ProbeRecords } from './probe.ts';
import type { KernelIdentity } from '../vocabulary.ts';
import type { RuntimeName } from '../vocabulary.ts';
import { commandsFor, RUNTIME_FACTS_COMMAND, type Scenario, type Side } from './types.ts';

export interface CommandResult {
  output: string;
  exit: number;
}

/** What one side saw. Only the observations the scenario asked for are present. */
export interface SideObservations {
  pid?: number;
  ppid?: number;
  uname?: string;
  kernel?: KernelIdentity;
  nodename?: string;
  hostname?: string;
  ns?: Record<string, string>;
  hostNs?: Record<string, string>;
  nspid?: number[];
  parents?: { pid: number; comm: string }[];
  ps?: string;
  run?: Record<string, CommandResult>;
  /** The runtime's own account of the isolated process (docker inspect's PID, runc's state.json), outside only. */
  runtime?: RuntimeFacts;
}

export interface Observations {
  inside: SideObservations;
  outside: SideObservations;
}

/** The isolated side could not be started; `stderr` says why, in the target's own words. */
export interface IsolationFailure {
  exit: number;
  stderr: string;
}

export function isolationFailure(records: ProbeRecords): IsolationFailure | undefined {
  const exit = records.get('probe.isolate.exit');
  if (exit === undefined) return undefined;
  return { exit: Number(exit), stderr: records.get('probe.isolate.stderr') ?? '' };
}

const int = (text: string | undefined): number | undefined =>
  text !== undefined && /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : undefined;

function group(records: ProbeRecords, prefix: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [key, value] of records) {
    if (key.startsWith(prefix)) {
      const rest = key.slice(prefix.length);
      if (!rest.includes('.')) out[rest] = value;
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Turns the probe's flat text records into typed observations, keeping what the scenario asked for. */
export function buildObservations(
  records: ProbeRecords,
  scenario: Scenario,
  runtime: RuntimeName = 'unshare',
): Observations {
  const { inside: i, outside: o } = scenario.observe;
  const outside = side(records, 'outside', o.builtins, commandsFor(o.commands, runtime));
  const facts = records.get(`outside.run.${RUNTIME_FACTS_COMMAND}.output`);
  if (facts !== undefined) outside.runtime = parseRuntimeFacts(facts);
  return {
    inside: side(records, 'inside', i.builtins, commandsFor(i.commands, runtime)),
    outside,
  };
}

function side(
  records: ProbeRecords,
  which: Side,
  builtins: readonly string[],
  commands: Scenario['observe']['inside']['commands'],
): SideObservations {
  const get = (k: string) => records.get(`${which}.${k}`);
  const obs: SideObservations = {};
  for (const b of builtins) {
    switch (b) {
      case 'pid':
        obs.pid = int(get('pid'));
        break;
      case 'ppid':
        obs.ppid = int(get('ppid'));
        break;
      case 'uname':
        obs.uname = get('uname');
        obs.kernel = {
          name: get('kernel.name') ?? '',
          release: get('kernel.release') ?? '',
          version: get('kernel.version') ?? '',
          machine: get('kernel.machine') ?? '',
        };
        obs.nodename = get('nodename');
        break;
      case 'hostname':
        obs.hostname = get('hostname');
        break;
      case 'ns':
        obs.ns = group(records, `${which}.ns.`);
        break;
      case 'hostNs':
        obs.hostNs = group(records, `${which}.hostNs.`);
        break;
      case 'nspid':
        // "2387\t1": the PID in each namespace from the host's outward in, the isolated one last.
        obs.nspid = (get('nspid') ?? '').split(/\s+/).filter(Boolean).map(Number);
        break;
      case 'parents':
        obs.parents = (get('parents') ?? '')
          .split('\n')
          .filter(Boolean)
          .map((line) => {
            const space = line.indexOf(' ');
            return { pid: Number(line.slice(0, space)), comm: line.slice(space + 1) };
          });
        break;
      case 'ps':
        obs.ps = get('ps');
        break;
    }
  }
  if (commands.length > 0) {
    obs.run = {};
    for (const c of commands) {
      obs.run[c.name] = {
        output: get(`run.${c.name}.output`) ?? '',
        exit: int(get(`run.${c.name}.exit`)) ?? -1,
      };
    }
  }
  return obs;
}
