import { describe, expect, it } from 'vitest';
import { acceleratorPlan, describeAccelFailure, qemuWords, SILENCE_BOUND_MS } from './accel-trial.ts';

// QEMU 8.x on a nested-KVM host (asterinas issue 2980, and machines of this workplace).
const MSR_ABORT = `qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69
qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion \`ret == cpu->kvm_msr_buf->nmsrs' failed.
`;

describe('qemuWords', () => {
  it('takes the first error line, without the program prefix and the error label', () => {
    expect(qemuWords(MSR_ABORT)).toBe('failed to set MSR 0x10a to 0x69');
  });
  it('skips warnings and falls back to the first line', () => {
    expect(
      qemuWords(
        "qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]\nKVM internal error. Suberror: 1\n",
      ),
    ).toBe('KVM internal error. Suberror: 1');
    expect(qemuWords('something odd\n')).toBe('something odd');
    expect(qemuWords('')).toBe('');
  });
});

describe('describeAccelFailure', () => {
  it('an abort, in QEMU words', () => {
    expect(
      describeAccelFailure('exited', { exit: { code: null, signal: 'SIGABRT' }, stderr: MSR_ABORT }),
    ).toBe('QEMU aborted: failed to set MSR 0x10a to 0x69');
  });
  it('an exit code or another signal', () => {
    expect(
      describeAccelFailure('exited', {
        exit: { code: 1, signal: null },
        stderr: 'qemu-system-aarch64: -accel hvf: HV_UNSUPPORTED\n',
      }),
    ).toBe('QEMU exited with code 1: -accel hvf: HV_UNSUPPORTED');
    expect(describeAccelFailure('exited', { exit: { code: null, signal: 'SIGSEGV' }, stderr: '' })).toBe(
      'QEMU was killed by SIGSEGV',
    );
  });
  it('a silent guest says how long it waited', () => {
    expect(describeAccelFailure('silent', { stderr: '' })).toBe(
      `no console output within ${SILENCE_BOUND_MS / 1000} s: the guest hangs under this accelerator`,
    );
    expect(describeAccelFailure('silent', { stderr: '', silenceMs: 5000 })).toMatch(/within 5 s/);
  });
  it('an internal error quotes QEMU', () => {
    expect(
      describeAccelFailure('internal-error', {
        stderr: 'KVM internal error. Suberror: 1\nemulation failure\n',
      }),
    ).toBe('QEMU stopped the VM with an internal error: KVM internal error. Suberror: 1');
  });
});

describe('acceleratorPlan', () => {
  it('auto: one trial of the hardware accelerator, then tcg', () => {
    expect(acceleratorPlan('kvm', 'auto')).toEqual(['kvm', 'tcg']);
    expect(acceleratorPlan('hvf', 'auto', { ok: true })).toEqual(['hvf', 'tcg']);
  });
  it('auto: straight to tcg when the accelerator failed here before', () => {
    expect(acceleratorPlan('kvm', 'auto', { ok: false })).toEqual(['tcg']);
  });
  it('an explicit accelerator never falls back', () => {
    expect(acceleratorPlan('kvm', 'kvm')).toEqual(['kvm']);
    expect(acceleratorPlan('whpx', 'whpx', { ok: false })).toEqual(['whpx']);
  });
  it('tcg is tcg', () => {
    expect(acceleratorPlan('tcg', 'auto')).toEqual(['tcg']);
    expect(acceleratorPlan('tcg', 'tcg')).toEqual(['tcg']);
  });
});
