import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectFile } from '../project-root.ts';
import { readReport } from './read.ts';
import { buildView } from './view.ts';
import { nativeTarget, vmTarget } from '../../test/helpers/report-fixture.ts';

// The view holds every verdict the renderers show; these are its rules, on recorded and synthetic targets.
const fixture = (name: string) => readReport(join(projectFile('test', 'fixtures', 'reports'), name));

describe('buildView', () => {
  it('native Linux: the container has the host kernel; the chain is PID 1, then the host PID', async () => {
    const linux = await fixture('linux.json');
    const [native] = buildView(linux.targets).targets;
    const pidNs = linux.targets[0]!.scenarios.find((s) => s.name === 'pid-ns')!.observations!;
    expect(native).toMatchObject({
      key: 'linux/native',
      column: 'native Linux',
      sameKernelAsObserver: true,
      sameKernelAsHost: true,
      pidInside: 1,
      pidOutside: pidNs.outside.pid,
      from: 'pid-ns',
    });
    expect(native!.chain.map((l) => [l.layer, l.pid])).toEqual([
      ['container', 1],
      ['host', pidNs.outside.pid],
    ]);
    expect(native!.chain[0]!.pidNs).toBe(pidNs.inside.ns!.pid);
    expect(native!.qemuPid).toBeUndefined();
  });

  it("a VM on macOS: the VM's kernel, not Darwin's; the chain ends at QEMU's PID on the host", async () => {
    const darwin = await fixture('darwin.json');
    darwin.targets[0]!.host!.model = 'Macmini9,1';
    const [vm] = buildView(darwin.targets).targets;
    expect(vm!.host).toMatchObject({
      os: 'darwin',
      uname: expect.stringMatching(/^Darwin /),
      model: 'Macmini9,1',
    });
    const t = darwin.targets[0]!;
    expect(vm).toMatchObject({
      key: 'darwin/vm',
      column: 'VM on macOS (hvf)',
      sameKernelAsObserver: true,
      sameKernelAsHost: false,
      qemuPid: t.host!.qemuPid,
    });
    expect(vm!.chain.map((l) => l.layer)).toEqual(['container', 'vm', 'host']);
    expect(vm!.chain[2]).toEqual({ layer: 'host', pid: t.host!.qemuPid, what: 'qemu' });
  });

  it('boot phases become bars; an abandoned accelerator trial comes first; a reused VM has none', () => {
    const t = vmTarget();
    t.phases = {
      accelFailed: 3000,
      qemuSpawned: 3100,
      firstConsoleByte: 3500,
      kernelToInit: 5000,
      firstCommand: 6000,
    };
    t.host = {
      ...t.host!,
      acceleratorFailed: { accelerator: 'kvm', message: 'no console output within 3 s' },
    };
    const bars = buildView([t]).targets[0]!.timeline;
    expect(bars.slice(0, 5)).toEqual([
      { label: 'kvm trial, abandoned', kind: 'fallback', startMs: 0, endMs: 3000 },
      { label: 'QEMU start', kind: 'boot', startMs: 3000, endMs: 3100 },
      { label: 'firmware', kind: 'boot', startMs: 3100, endMs: 3500 },
      { label: 'kernel', kind: 'boot', startMs: 3500, endMs: 5000 },
      { label: 'first command', kind: 'boot', startMs: 5000, endMs: 6000 },
    ]);
    t.host.reusedVm = true;
    expect(buildView([t]).targets[0]!.timeline.filter((b) => b.kind !== 'scenario')).toEqual([]);
  });

  it('says the abandoned accelerator once, whether or not the reason already names it', () => {
    const t = vmTarget();
    t.host = {
      ...t.host!,
      accelerator: 'tcg',
      acceleratorReason: 'kvm failed: QEMU aborted (remembered from yesterday)',
      acceleratorFailed: { accelerator: 'kvm', message: 'QEMU aborted' },
    };
    expect(buildView([t]).targets[0]!.acceleratorNote).toBe(
      'kvm failed: QEMU aborted (remembered from yesterday)',
    );
    t.host.acceleratorReason = '/dev/kvm opens';
    expect(buildView([t]).targets[0]!.acceleratorNote).toBe('/dev/kvm opens; kvm failed first: QEMU aborted');
  });

  it('keys stay unique when a merge repeats a host and kind; the answer needs every observed target', () => {
    const view = buildView([nativeTarget(), nativeTarget(), vmTarget()]);
    expect(view.targets.map((t) => t.key)).toEqual(['linux/native', 'linux/native-2', 'linux/vm']);
    expect(view.sameKernelEverywhere).toBe(true);
    const odd = vmTarget();
    const s = odd.scenarios.find((x) => x.observations?.inside.kernel)!;
    s.observations!.inside.kernel = { ...s.observations!.inside.kernel!, release: 'another' };
    const mixed = buildView([nativeTarget(), odd]);
    expect(mixed.sameKernelEverywhere).toBe(false);
    expect(mixed.scenarios.find((v) => v.target === 'linux/vm' && v.scenario === s.name)?.sameKernel).toBe(
      false,
    );
    expect(buildView([]).sameKernelEverywhere).toBeUndefined();
  });
});
