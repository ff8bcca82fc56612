import { describe, expect, it } from 'vitest';
import { interruptExitCode } from './interrupt.ts';

describe('interruptExitCode', () => {
  it('130 for Ctrl-C, 128 + the number for the others (a CI log tells a cancellation from a failure)', () => {
    expect(interruptExitCode('SIGINT')).toBe(130);
    expect(interruptExitCode('SIGTERM')).toBe(143);
    expect(interruptExitCode('SIGHUP')).toBe(129);
  });
});
