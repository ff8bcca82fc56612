import { describe, expect, it } from 'vitest';
import { skipReason, skipReport } from './skip-reasons.ts';

describe('the skip-reasons reporter (pure parts)', () => {
  it("takes ctx.skip's note first, then the (skipped: …) of a name", () => {
    expect(skipReason('runs as root (skipped: needs root) > a case', 'runtime-unavailable:docker')).toBe(
      'runtime-unavailable:docker',
    );
    expect(skipReason('runs as root (skipped: needs root) > a case', undefined)).toBe('needs root');
    expect(skipReason('a case', '  ')).toBeUndefined();
    // A reason with parentheses of its own, in a suite's name or at the end of the test's.
    expect(skipReason('docker (skipped: no daemon (.ci/run starts one)) > a case', undefined)).toBe(
      'no daemon (.ci/run starts one)',
    );
    expect(skipReason('a case (skipped: no daemon (.ci/run starts one))', undefined)).toBe(
      'no daemon (.ci/run starts one)',
    );
  });
  it('lists every skip with its reason, and counts those without one', () => {
    expect(
      skipReport([
        { file: 'test/a.test.ts', name: 'x (skipped: no docker) > y', reason: 'no docker' },
        { file: 'test/b.test.ts', name: 'z' },
      ]),
    ).toEqual({
      text:
        '2 skipped tests, with their reasons:\n' +
        '  SKIP test/a.test.ts > x (skipped: no docker) > y: no docker\n' +
        '  SKIP test/b.test.ts > z: NO REASON GIVEN\n' +
        '1 skipped without a reason: give one with ctx.skip(reason) or skipNote() in the name\n',
      unexplained: 1,
    });
    expect(skipReport([])).toEqual({ text: '', unexplained: 0 });
  });
});
