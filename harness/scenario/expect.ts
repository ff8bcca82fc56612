import { isDeepStrictEqual } from 'node:util';
import type { Observations } from './observations.ts';
import type { RuntimeName, TargetKind } from '../vocabulary.ts';
import type { Expectation, Operator } from './types.ts';

export interface ExpectationResult {
  that: string;
  op: Operator;
  /** The literal, or for sameAs/differsFrom the other path. */
  value: string | number | boolean;
  actual: unknown;
  /** For sameAs/differsFrom: what the other path held. */
  other?: unknown;
  ok: boolean;
  why?: string;
}

const SEGMENT_RE = /\.([A-Za-z][A-Za-z0-9_-]*)|\[(-?\d+)\]/g;

/** Reads `outside.nspid[0]`, `outside.nspid[-1]` (last) or `inside.kernel.release` out of observations. */
export function resolvePath(observations: Observations, path: string): unknown {
  const [head] = path.split(/[.[]/, 1);
  let current: unknown = (observations as unknown as Record<string, unknown>)[head!];
  for (const m of path.slice(head!.length).matchAll(SEGMENT_RE)) {
    if (current === undefined || current === null) return undefined;
    if (m[1] !== undefined) {
      current = Object.hasOwn(current as object, m[1])
        ? (current as Record<string, unknown>)[m[1]]
        : undefined;
    } else {
      if (!Array.isArray(current)) return undefined;
      const i = Number(m[2]);
      current = current.at(i);
    }
  }
  return current;
}

// A YAML literal `1` must match the observed number 1 and the text "1" alike; objects never equal a literal.
const scalarEquals = (actual: unknown, literal: string | number | boolean): boolean =>
  (typeof actual !== 'object' || actual === null) && String(actual) === String(literal);

/**
 * Checks the expectations that apply to this target kind and runtime; a missing observation fails, never
 * passes.
 */
export function checkExpectations(
  expectations: readonly Expectation[],
  observations: Observations,
  target: TargetKind,
  runtime: RuntimeName = 'unshare',
): ExpectationResult[] {
  return expectations
    .filter((e) => !e.targets || e.targets.includes(target))
    .filter((e) => !e.runtimes || e.runtimes.includes(runtime))
    .map((e) => {
      const actual = resolvePath(observations, e.that);
      const base = { that: e.that, op: e.op, value: e.value, actual, ...(e.why ? { why: e.why } : {}) };
      if (actual === undefined) return { ...base, ok: false };
      switch (e.op) {
        case 'equals':
          return { ...base, ok: scalarEquals(actual, e.value) };
        case 'notEquals':
          return { ...base, ok: !scalarEquals(actual, e.value) };
        case 'matches':
          return { ...base, ok: new RegExp(String(e.value)).test(String(actual)) };
        case 'sameAs':
        case 'differsFrom': {
          const other = resolvePath(observations, String(e.value));
          if (other === undefined) return { ...base, other, ok: false };
          const same = isDeepStrictEqual(actual, other);
          return { ...base, other, ok: e.op === 'sameAs' ? same : !same };
        }
      }
    });
}
