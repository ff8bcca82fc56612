import { projectFile } from '../project-root.ts';
import type { IsolateRequest, Runtime } from '../runtimes/index.ts';
import type { RuntimeName } from '../vocabulary.ts';
import { readShellScript } from '../util/text.ts';
import { commandsFor, RUNTIME_FACTS_COMMAND, type CommandObservation, type Scenario } from './types.ts';

/** The probe's text, sent to the target's `sh -s` on stdin; see probe.sh for the protocol. */
export const PROBE_SCRIPT = readShellScript(projectFile('harness', 'scenario', 'probe.sh'));

function commandWords(commands: readonly CommandObservation[]): string[] {
  return [String(commands.length), ...commands.flatMap((c) => [c.name, String(c.run.length), ...c.run])];
}

/** What the scenario asks of its isolated process, in the runtime's terms. */
export function isolateRequest(scenario: Scenario, runtime: RuntimeName): IsolateRequest {
  return {
    namespaces: scenario.isolate.namespaces,
    ...(scenario.isolate.optional ? { optional: scenario.isolate.optional } : {}),
    ...(scenario.isolate.time ? { time: scenario.isolate.time } : {}),
    fork: scenario.isolate.fork ?? true,
    insideArgs: [
      'nslab-inside',
      scenario.observe.inside.builtins.join(' '),
      ...commandWords(commandsFor(scenario.observe.inside.commands, runtime)),
    ],
  };
}

/** The positional parameters for `sh -s -- ...` that run this scenario's probe with this runtime. */
export function probeArgs(scenario: Scenario, runtime: Runtime): string[] {
  const request = isolateRequest(scenario, runtime.name);
  const isolate = runtime.isolateArgv(request);
  const facts = runtime.factsCommand();
  const outside = [
    ...commandsFor(scenario.observe.outside.commands, runtime.name),
    ...(facts ? [{ name: RUNTIME_FACTS_COMMAND, run: facts }] : []),
  ];
  return [
    request.fork ? 'fork' : 'nofork',
    scenario.observe.outside.builtins.join(' '),
    String(isolate.length),
    ...isolate,
    ...commandWords(outside),
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
