import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { findOnPath, skipNote } from '../../../test/helpers/tools.ts';
import { compareVersions } from './version.ts';

// Pairs chosen for each rule of deb-version(7), and real versions of the packages the image is made of.
const PAIRS: [string, string][] = [
  ['1.0', '1.0'],
  ['1.0', '1.0-1'],
  ['1.0~rc1', '1.0'],
  ['1.0~~', '1.0~'],
  ['1.0a', '1.0'],
  ['1.0+', '1.0a'],
  ['1:0.1', '2.0'],
  ['1.10', '1.9'],
  ['1.010', '1.10'],
  ['2.36-9+deb12u14', '2.36-9+deb12u4'],
  ['2.38.1-5+deb12u3', '2.38.1-5+b1'],
  ['6.1.192-3', '6.1.192-2~bpo11+1'],
  ['1:1.35.0-4+deb12u1+b1', '1:1.35.0-4+deb12u1'],
  ['2:6.2.1+dfsg1-1.1', '2:6.2.1+dfsg1-1'],
  ['0.5.12-2', '0.5.12-2.0'],
  ['1.1.5+ds1-1+deb12u1', '1.1.5+ds1-1'],
  ['a', 'B'],
  ['1.0-1', '1.0-1~'],
];

const dpkg = findOnPath('dpkg');

describe('compareVersions (deb-version(7))', () => {
  it.runIf(dpkg)(
    `orders every pair as dpkg --compare-versions does${skipNote(dpkg, 'dpkg is not on PATH')}`,
    async () => {
      for (const [a, b] of PAIRS) {
        const lt =
          (await execa('dpkg', ['--compare-versions', a, 'lt', b], { reject: false })).exitCode === 0;
        const eq =
          (await execa('dpkg', ['--compare-versions', a, 'eq', b], { reject: false })).exitCode === 0;
        const ours = Math.sign(compareVersions(a, b));
        expect([a, b, ours]).toEqual([a, b, lt ? -1 : eq ? 0 : 1]);
        expect(Math.sign(compareVersions(b, a))).toBe(ours === 0 ? 0 : -ours);
      }
    },
  );

  it('knows the rules without dpkg: tilde sorts first, epochs win, digits compare as numbers', () => {
    expect(compareVersions('1.0~rc1', '1.0')).toBeLessThan(0);
    expect(compareVersions('1:0.1', '9.9')).toBeGreaterThan(0);
    expect(compareVersions('1.10', '1.9')).toBeGreaterThan(0);
    expect(compareVersions('1.01', '1.1')).toBe(0);
  });
});
