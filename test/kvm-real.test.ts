// The real /dev/kvm of this machine, not a stand-in: `--accel auto` must end in an outcome a real host can
// give, and nothing else. Either KVM runs the guest (then the CPU shows vmx or svm), or QEMU's abort under
// nested KVM ("failed to set MSR 0x10a") is recognised and TCG takes over in the same run, or the device
// does not open and TCG is chosen up front. A fresh state folder: no remembered verdict decides it.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { projectImage, qemuProcessesWith } from './helpers/image.ts';
import { realQemu } from './helpers/stand-in-qemu.ts';
import { skipNote } from './helpers/tools.ts';

const BIN = new URL('../bin/nslab.mjs', import.meta.url).pathname;
const hasKvm = existsSync('/dev/kvm') && process.arch === 'x64';
const qemu = realQemu('x86_64');
const runs = hasKvm && qemu !== undefined;
const why = !hasKvm ? 'no /dev/kvm on this x86_64 host' : 'qemu-system-x86_64 is not on PATH';
const base = mkdtempSync(join(tmpdir(), 'nslab-kvm-real-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** What the CPU offers to a hypervisor, from /proc/cpuinfo (read here, not by nslab). */
const cpuVirtualizes = () => /^flags\s*:.*\b(vmx|svm)\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));

describe.runIf(runs)(`--accel auto on this machine's real /dev/kvm${skipNote(runs, why)}`, () => {
  it('ends in kvm on a CPU with vmx/svm, or in tcg with the reason a real host gives', async () => {
    await projectImage('x86_64');
    const env = {
      NSLAB_KVM_DEVICE: undefined,
      XDG_STATE_HOME: join(base, 'state'),
      NSLAB_RUNTIME_DIR: join(base, 'run'),
    };
    const r = await execa(
      'node',
      [BIN, 'scenario', 'pid-ns', '--target', 'vm', '--json', '--report-dir', join(base, 'out')],
      { reject: false, env },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const t = JSON.parse(r.stdout).targets[0];
    expect(t.scenarios[0].status).toBe('pass');
    const { accelerator, acceleratorReason, acceleratorFailed } = t.host;
    if (accelerator === 'kvm') {
      expect(cpuVirtualizes()).toBe(true);
      expect(acceleratorFailed).toBeUndefined();
      return;
    }
    expect(accelerator).toBe('tcg');
    // The device opened (as root here): KVM was tried and failed in one of the ways real hosts fail.
    const opened = !/\/dev\/kvm is missing or not read-write/.test(acceleratorReason);
    if (opened) {
      expect(acceleratorFailed?.accelerator).toBe('kvm');
      expect(acceleratorFailed?.message).toMatch(
        /^QEMU aborted: failed to set MSR 0x10a|^no console output within \d+ s|^QEMU stopped the VM with an internal error|^the guest printed, then was not ready/,
      );
      expect(r.stderr).toMatch(/vm: kvm failed: .*; booting again under tcg/);
      // An abort that names the MSR is certain: settled at once, the next run goes straight to TCG.
      if (/failed to set MSR/.test(acceleratorFailed.message)) {
        const verdicts = JSON.parse(
          readFileSync(join(base, 'state', 'nslab', 'accel-verdicts.json'), 'utf8'),
        );
        expect(verdicts.verdicts).toMatchObject([{ ok: false, kind: 'exited', settled: true }]);
      }
    } else expect(acceleratorFailed).toBeUndefined();
    expect(await qemuProcessesWith(join(base, 'run'))).toEqual([]);
  }, 180_000);
});
