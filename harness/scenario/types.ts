import type { Namespace, RuntimeName, TargetKind, TimeOffsets } from '../vocabulary.ts';

export { TIME_CLOCKS, TIME_OFFSET_MAX, type TimeOffsets } from '../vocabulary.ts';

/** Observations the probe always knows how to make; a scenario picks the ones it wants per side. */
export const INSIDE_BUILTINS = ['pid', 'ppid', 'uname', 'ns', 'ps', 'hostname'] as const;
export const OUTSIDE_BUILTINS = ['pid', 'nspid', 'ns', 'hostNs', 'parents', 'uname', 'hostname'] as const;
export type InsideBuiltin = (typeof INSIDE_BUILTINS)[number];
/** Inside built-ins that start a process (uname, ls, ps); without fork the inside may start only its commands. */
export const FORKING_INSIDE_BUILTINS: readonly InsideBuiltin[] = ['uname', 'ns', 'ps'];
export type OutsideBuiltin = (typeof OUTSIDE_BUILTINS)[number];
export type Side = 'inside' | 'outside';

/**
 * The name of the probe's own outside command that asks the runtime for its account (Runtime.factsCommand);
 * a scenario's command may not take it.
 */
export const RUNTIME_FACTS_COMMAND = 'runtime';

/** A command of the scenario's own, run as an argv list (never through a shell) on one side. */
export interface CommandObservation {
  name: string;
  run: string[];
  /** Only run under these runtimes; under all when absent. */
  runtimes?: RuntimeName[];
}

/** The scenario's commands on one side that run under this runtime. */
export function commandsFor(
  commands: readonly CommandObservation[],
  runtime: RuntimeName,
): CommandObservation[] {
  return commands.filter((c) => !c.runtimes || c.runtimes.includes(runtime));
}

export const OPERATORS = ['equals', 'notEquals', 'matches', 'sameAs', 'differsFrom'] as const;
export type Operator = (typeof OPERATORS)[number];

export interface Expectation {
  /** Path into the observations, e.g. `outside.nspid[0]` or `inside.kernel.release`. */
  that: string;
  op: Operator;
  /** A literal for equals/notEquals/matches, a path for sameAs/differsFrom. */
  value: string | number | boolean;
  why: string | undefined;
  /** Only checked on these target kinds; all when absent. */
  targets: TargetKind[] | undefined;
  /** Only checked under these runtimes; all when absent. */
  runtimes?: RuntimeName[] | undefined;
}

export interface Scenario {
  name: string;
  title: string;
  question: string;
  source: string | undefined;
  file: string;
  /**
   * `time` only when `namespaces` has `time`; `fork` (false: `unshare --pid` without `--fork`, so the
   * isolated shell stays outside and its first child is PID 1) only when it has `pid` and not `time`.
   */
  isolate: {
    namespaces: Namespace[];
    /** Namespaces of the list that a runtime unable to make them (runc, docker: time) may leave out. */
    optional?: Namespace[];
    time?: TimeOffsets;
    fork?: boolean;
  };
  /** The runtimes the experiment makes sense under (`runtimes:`, default unshare only); others skip it. */
  runtimes: RuntimeName[];
  observe: {
    inside: { builtins: InsideBuiltin[]; commands: CommandObservation[] };
    outside: { builtins: OutsideBuiltin[]; commands: CommandObservation[] };
  };
  expect: Expectation[];
}
