import { describe, expect, it } from 'vitest';
import { checkExpectations, resolvePath } from './expect.ts';
import type { Observations } from './observations.ts';
import type { Expectation } from './types.ts';

const kernel = { name: 'Linux', release: '6.1.0', version: '#1 SMP', machine: 'x86_64' };
const obs: Observations = {
  inside: { pid: 1, kernel, ns: { pid: 'pid:[2]' }, uname: 'Linux box 6.1.0' },
  outside: { pid: 2387, nspid: [2387, 1], kernel: { ...kernel }, hostNs: { pid: 'pid:[1]' } },
};
const ex = (
  that: string,
  op: Expectation['op'],
  value: Expectation['value'],
  targets?: Expectation['targets'],
): Expectation => ({
  that,
  op,
  value,
  why: undefined,
  targets,
});

describe('resolvePath', () => {
  it('reads nested keys and indexes, negative from the end', () => {
    expect(resolvePath(obs, 'outside.nspid[0]')).toBe(2387);
    expect(resolvePath(obs, 'outside.nspid[-1]')).toBe(1);
    expect(resolvePath(obs, 'inside.kernel.release')).toBe('6.1.0');
    expect(resolvePath(obs, 'inside.nothing.here')).toBeUndefined();
    expect(resolvePath(obs, 'inside.pid[0]')).toBeUndefined();
  });
  it('does not walk into inherited properties', () => {
    expect(resolvePath(obs, 'inside.constructor')).toBeUndefined();
  });
});

describe('checkExpectations', () => {
  it('judges each operator both ways', () => {
    const results = checkExpectations(
      [
        ex('inside.pid', 'equals', 1),
        ex('outside.pid', 'equals', 1),
        ex('outside.pid', 'notEquals', 1),
        ex('inside.uname', 'matches', '^Linux '),
        ex('inside.uname', 'matches', '^Darwin'),
        ex('outside.pid', 'sameAs', 'outside.nspid[0]'),
        ex('inside.kernel', 'sameAs', 'outside.kernel'),
        ex('inside.ns.pid', 'differsFrom', 'outside.hostNs.pid'),
        ex('inside.ns.pid', 'sameAs', 'outside.hostNs.pid'),
      ],
      obs,
      'native',
    );
    expect(results.map((r) => r.ok)).toEqual([true, false, true, true, false, true, true, true, false]);
    expect(results[5]).toMatchObject({ actual: 2387, other: 2387 });
  });

  it('fails, never passes, when an observation is missing', () => {
    const [a, b, c] = checkExpectations(
      [
        ex('inside.missing', 'notEquals', 1),
        ex('inside.missing', 'differsFrom', 'inside.pid'),
        ex('inside.pid', 'differsFrom', 'inside.missing'),
      ],
      obs,
      'native',
    );
    expect([a?.ok, b?.ok, c?.ok]).toEqual([false, false, false]);
  });

  it('does not equate an object with a literal through its string form', () => {
    expect(checkExpectations([ex('inside.kernel', 'equals', '[object Object]')], obs, 'native')[0]?.ok).toBe(
      false,
    );
  });

  it('checks only the expectations meant for the target kind', () => {
    const results = checkExpectations(
      [ex('inside.pid', 'equals', 1, ['vm']), ex('inside.pid', 'equals', 1, ['native'])],
      obs,
      'native',
    );
    expect(results).toHaveLength(1);
  });
});
