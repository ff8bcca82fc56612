import { describe, expect, it } from 'vitest';
import {
  acceleratorPlan,
  describeAccelFailure,
  namesAccelerator,
  nextVerdict,
  qemuWords,
  settledFailure,
  SILENCE_BOUND_MS,
  type AccelFailure,
} from './accel-trial.ts';

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
  it('auto: straight to tcg once a failure here is settled; an unsettled one is tried again', () => {
    expect(acceleratorPlan('kvm', 'auto', { ok: false, settled: true })).toEqual(['tcg']);
    expect(acceleratorPlan('kvm', 'auto', { ok: false, failures: 1, settled: false })).toEqual([
      'kvm',
      'tcg',
    ]);
  });
  it('an explicit accelerator never falls back', () => {
    expect(acceleratorPlan('kvm', 'kvm')).toEqual(['kvm']);
    expect(acceleratorPlan('whpx', 'whpx', { ok: false, settled: true })).toEqual(['whpx']);
  });
  it('tcg is tcg', () => {
    expect(acceleratorPlan('tcg', 'auto')).toEqual(['tcg']);
    expect(acceleratorPlan('tcg', 'tcg')).toEqual(['tcg']);
  });
});

describe('which failures settle the verdict', () => {
  const failure = (kind: AccelFailure['kind'], certain: boolean): AccelFailure => ({
    accel: 'kvm',
    kind,
    message: 'm',
    certain,
  });
  it('QEMU naming the accelerator is certain; other words are not', () => {
    expect(namesAccelerator(MSR_ABORT)).toBe(true);
    expect(namesAccelerator('qemu-system-aarch64: -accel hvf: HV_UNSUPPORTED')).toBe(true);
    expect(namesAccelerator('WHPX: Failed to setup partition')).toBe(true);
    expect(namesAccelerator('qemu-system-x86_64: could not load kernel')).toBe(false);
    expect(namesAccelerator('Could not set up host forwarding rule')).toBe(false);
  });
  it('a certain failure settles at once', () => {
    expect(nextVerdict(undefined, failure('exited', true))).toMatchObject({
      ok: false,
      failures: 1,
      settled: true,
    });
    expect(nextVerdict(undefined, failure('internal-error', true)).settled).toBe(true);
  });
  it('an uncertain one (a silent guest) settles only when it comes twice in a row', () => {
    const once = nextVerdict(undefined, failure('silent', false));
    expect(once).toMatchObject({ ok: false, kind: 'silent', failures: 1, settled: false });
    expect(settledFailure(once)).toBe(false);
    const twice = nextVerdict(once, failure('silent', false));
    expect(twice).toMatchObject({ failures: 2, settled: true });
    expect(settledFailure(twice)).toBe(true);
    // A pass in between starts the count again.
    expect(nextVerdict({ ok: true }, failure('silent', false))).toMatchObject({
      failures: 1,
      settled: false,
    });
  });
});
