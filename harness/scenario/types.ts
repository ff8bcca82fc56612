import type { Namespace, TargetKind } from '../vocabulary.ts';

/** Observations the probe always knows how to make; a scenario picks the ones it wants per side. */
export const INSIDE_BUILTINS = ['pid', 'ppid', 'uname', 'ns', 'ps', 'hostname'] as const;
export const OUTSIDE_BUILTINS = ['pid', 'nspid', 'ns', 'hostNs', 'parents', 'uname', 'hostname'] as const;
export type InsideBuiltin = (typeof INSIDE_BUILTINS)[number];
/** Inside built-ins that start a process (uname, ls, ps); without fork the inside may start only its commands. */
export const FORKING_INSIDE_BUILTINS: readonly InsideBuiltin[] = ['uname', 'ns', 'ps'];
export type OutsideBuiltin = (typeof OUTSIDE_BUILTINS)[number];
export type Side = 'inside' | 'outside';

/** A command of the scenario's own, run as an argv list (never through a shell) on one side. */
export interface CommandObservation {
  name: string;
  run: string[];
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
}

/** Clock offsets of a new time namespace, in whole seconds (util-linux `unshare --boottime/--monotonic`). */
export interface TimeOffsets {
  boottime?: number;
  monotonic?: number;
}

/** The clocks a time namespace can shift, in the order `unshare` is given them. */
export const TIME_CLOCKS = ['boottime', 'monotonic'] as const;

/**
 * The kernel refuses an offset beyond KTIME_SEC_MAX / 2 seconds (kernel/time/namespace.c; at run time it
 * also refuses one that takes the clock below 0 or past that bound).
 */
export const TIME_OFFSET_MAX = 4_611_686_018;

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
  isolate: { namespaces: Namespace[]; time?: TimeOffsets; fork?: boolean };
  observe: {
    inside: { builtins: InsideBuiltin[]; commands: CommandObservation[] };
    outside: { builtins: OutsideBuiltin[]; commands: CommandObservation[] };
  };
  expect: Expectation[];
}
