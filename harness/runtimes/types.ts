import type { Preflight } from '../targets/preflight.ts';
import type { Skip, Target, TargetInfo } from '../targets/types.ts';
import type { Namespace, RuntimeName, TimeOffsets } from '../vocabulary.ts';

/** What a scenario asks of the isolated process; a runtime turns it into the words that start it. */
export interface IsolateRequest {
  namespaces: readonly Namespace[];
  /** Of those, the ones a runtime that cannot make them leaves out (the process shares the target's). */
  optional?: readonly Namespace[];
  time?: TimeOffsets;
  /** false: `unshare --pid` without `--fork` (the shell stays outside, its first child is PID 1). */
  fork: boolean;
  /**
   * The positional parameters of the inside script: `nslab-inside` ($0) and then the inside commands.
   * The script itself is in the environment ($NSLAB_INNER) where the runtime passes the environment on.
   */
  insideArgs: readonly string[];
}

/** The runtime as the report names it: which one, and its own version line. */
export interface RuntimeInfo {
  name: RuntimeName;
  version: string;
}

/**
 * How the isolated process is made (the target says where it runs). A runtime is prepared once per target,
 * which may find that it cannot work there (a named skip), turns each scenario's request into the argv the
 * probe starts, and is closed once (idempotent).
 */
export interface Runtime {
  readonly name: RuntimeName;
  prepare(
    target: Target,
    info: TargetInfo,
    preflight: Preflight | undefined,
    signal?: AbortSignal,
  ): Promise<{ info: RuntimeInfo; skip?: Skip }>;
  /** A request it cannot meet on this target, as a named skip (e.g. a namespace it cannot make). */
  refuses(request: IsolateRequest): Skip | undefined;
  /**
   * The argv the probe runs to start the isolated side (see probe.sh); every value in it is a word of its
   * own, never shell text. The probe exports NSLAB_DIR (its scratch folder) and NSLAB_INNER (the script).
   */
  isolateArgv(request: IsolateRequest): string[];
  /**
   * A command the probe runs outside once it has found the isolated process, printing KEY=VALUE lines of
   * the runtime's own account of it (docker inspect's PID, runc's state.json); undefined if it keeps none.
   */
  factsCommand(): string[] | undefined;
  close(): Promise<void>;
}

/** The runtime's account of the isolated process, from factsCommand()'s KEY=VALUE lines; numbers as numbers. */
export type RuntimeFacts = Record<string, string | number>;

export function parseRuntimeFacts(text: string): RuntimeFacts {
  const facts: RuntimeFacts = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(key)) continue;
    facts[key] = /^\d+$/.test(value) ? Number(value) : value;
  }
  return facts;
}
