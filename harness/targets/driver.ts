import type { Command } from 'commander';
import type { RuntimeName, TargetKind } from '../vocabulary.ts';
import type { Target } from './types.ts';

/**
 * One kind of target, as the CLI and the run know it: everything about a target lives in its folder behind
 * this (after Lima's driver registry), so that a new target is one folder and one line in registry.ts.
 */
export interface TargetDriver {
  readonly kind: TargetKind;
  /** What it is, for `--target`'s help: "vm (a QEMU VM)". */
  readonly summary: string;
  /** Whether `--target all` takes it on this host. */
  inAll(os: NodeJS.Platform): boolean;
  /** The runtimes it can make isolated processes with, its default first; undefined: all of them. */
  readonly runtimes?: readonly RuntimeName[];
  /** Its own command-line options, added to `nslab scenario`. */
  addOptions?(cmd: Command): Command;
  /** A target from the parsed command line (commander's options object, its own options included). */
  create(options: Record<string, unknown>): Target;
}
