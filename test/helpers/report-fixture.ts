import type { ScenarioResult } from '../../harness/scenario/run.ts';
import type { SideObservations } from '../../harness/scenario/observations.ts';
import type { RunReport, TargetReport } from '../../harness/report/types.ts';
import { buildView } from '../../harness/report/view.ts';
import { SCHEMA_VERSION } from '../../harness/report/types.ts';
import type { KernelIdentity } from '../../harness/vocabulary.ts';

// A synthetic report for the renderers' tests: two targets (native and a VM), every scenario status, and
// command output a target could print to break a renderer's markup.

/** Markup and sequences a target's output may hold; each must reach a report as text. */
export const HOSTILE = {
  img: '<img src=x onerror=alert(1)>',
  cdataEnd: ']]>',
  scriptEnd: '</script>',
};
/** Characters XML 1.0 cannot carry at all: NUL, ESC, U+FFFF. */
export const INVALID_CHARS = ['\u0000', '\u001b', '\uffff'];
/** One command's output: the hostile strings with the invalid characters among them. */
export const HOSTILE_OUTPUT = `${HOSTILE.img} a\u0000b ${HOSTILE.cdataEnd} \u001b[31mred\u001b[0m ${HOSTILE.scriptEnd} end\uffff`;

const HOST_KERNEL: KernelIdentity = {
  name: 'Linux',
  release: '6.8.0-52-generic',
  version: '#53-Ubuntu SMP PREEMPT_DYNAMIC',
  machine: 'x86_64',
};
const VM_KERNEL: KernelIdentity = {
  name: 'Linux',
  release: '6.6.71-linuxkit',
  version: '#1 SMP',
  machine: 'x86_64',
};
const line = (k: KernelIdentity, node: string) =>
  `${k.name} ${node} ${k.release} ${k.version} ${k.machine} GNU/Linux`;
export const HOST_UNAME = line(HOST_KERNEL, 'builder');
export const VM_UNAME = line(VM_KERNEL, 'nslab-vm');

const side = (pid: number, kernel: KernelIdentity, node: string, extra: SideObservations = {}) => ({
  pid,
  uname: line(kernel, node),
  kernel,
  ...extra,
});

const scenario = (
  name: string,
  rest: Omit<ScenarioResult, 'name' | 'title' | 'question'>,
): ScenarioResult => ({
  name,
  title: `${name} title`,
  question: `what does ${name} show?`,
  ...rest,
});

/** pid-ns, passing: PID 1 inside, `outsidePid` outside, the observer's kernel on both sides. */
function pidNsPass(kernel: KernelIdentity, node: string, outsidePid: number, durationMs: number) {
  return scenario('pid-ns', {
    status: 'pass',
    durationMs,
    observations: {
      inside: side(1, kernel, node),
      // A passing scenario's commands printed too; only failed and errored ones' output is shown.
      outside: side(outsidePid, kernel, node, {
        run: { ps: { output: `PID CMD\n${outsidePid} sh`, exit: 0 } },
      }),
    },
    expectations: [
      { that: 'inside.pid', op: 'equals', value: 1, actual: 1, ok: true },
      { that: 'outside.pid', op: 'notEquals', value: 1, actual: outsidePid, ok: true },
    ],
  });
}

/** The native target: pass, fail (2 of 3 expectations), error (probe-failed), skip. */
export function nativeTarget(): TargetReport {
  return {
    kind: 'native',
    os: 'linux',
    uname: HOST_UNAME,
    access: 'root',
    status: 'ready',
    runtime: { name: 'unshare', version: 'unshare from util-linux 2.39.3' },
    scenarios: [
      pidNsPass(HOST_KERNEL, 'builder', 2387, 1234),
      scenario('markup', {
        status: 'fail',
        reason: '2 of 3 expectations failed',
        durationMs: 5,
        observations: {
          inside: side(1, HOST_KERNEL, 'builder', { run: { say: { output: HOSTILE_OUTPUT, exit: 0 } } }),
          outside: side(2390, HOST_KERNEL, 'builder', {
            run: { ps: { output: `PID CMD\n1 sh ${HOSTILE.scriptEnd}`, exit: 0 } },
          }),
        },
        expectations: [
          { that: 'inside.pid', op: 'equals', value: 1, actual: 1, ok: true },
          {
            that: 'inside.run.say.output',
            op: 'equals',
            value: 'hello',
            actual: HOSTILE_OUTPUT,
            ok: false,
            why: 'the inside echoes what it was given',
          },
          {
            that: 'inside.pid',
            op: 'sameAs',
            value: 'outside.pid',
            actual: 1,
            other: 2390,
            ok: false,
            why: `never the same ${HOSTILE.img}`,
          },
        ],
      }),
      scenario('probe-crash', {
        status: 'error',
        reason: 'probe-failed',
        detail: `the probe exited with 2: ${HOSTILE_OUTPUT}`,
        durationMs: 40,
      }),
      scenario('time-ns', {
        status: 'skip',
        reason: 'kernel-config:CONFIG_TIME_NS',
        detail: 'this kernel has no time namespaces',
        durationMs: 0,
      }),
    ],
  };
}

/** The VM target on a Linux host under KVM: pass, fail (1 of 1), error (boot timeout), skip. */
export function vmTarget(): TargetReport {
  return {
    kind: 'vm',
    os: 'linux',
    uname: VM_UNAME,
    access: 'root',
    status: 'ready',
    host: {
      os: 'linux',
      uname: HOST_UNAME,
      kernel: HOST_KERNEL,
      qemuPid: 5151,
      accelerator: 'kvm',
      acceleratorReason: '/dev/kvm is usable',
      // What every VM run records since the guest network and the control channels are reported.
      guestNetwork: 'isolated',
      controlChannel: 'unix-socket',
    },
    phases: {
      qemuSpawned: 20,
      firstConsoleByte: 300,
      kernelToInit: 900,
      guestReady: 1500,
      sshBanner: 1700,
      firstCommand: 1800,
    },
    runtime: { name: 'runc', version: 'runc version 1.2.5' },
    scenarios: [
      pidNsPass(VM_KERNEL, 'nslab-vm', 412, 2500),
      scenario('user-ns', {
        status: 'fail',
        reason: '1 of 1 expectations failed',
        durationMs: 999,
        observations: {
          inside: side(1, VM_KERNEL, 'nslab-vm', { run: { id: { output: 'uid=0(root)', exit: 0 } } }),
          outside: side(420, VM_KERNEL, 'nslab-vm'),
        },
        expectations: [
          {
            that: 'outside.kernel',
            op: 'differsFrom',
            value: 'host.kernel',
            actual: VM_KERNEL,
            other: HOST_KERNEL,
            ok: false,
            why: 'the VM runs its own kernel',
          },
        ],
      }),
      scenario('markup', {
        status: 'error',
        reason: 'timeout',
        detail: 'the scenario did not finish within 60 s and was stopped (raise it with --timeout)',
        durationMs: 60_000,
      }),
      scenario('time-ns', {
        status: 'skip',
        reason: 'not-in-image',
        detail: `the VM image lacks ${HOSTILE.img}`,
        durationMs: 0,
      }),
    ],
  };
}

/** A whole report around the given targets, with its summary and view built as runAll builds them. */
export function reportOf(targets: TargetReport[], overrides: Partial<RunReport> = {}): RunReport {
  const summary = { pass: 0, fail: 0, skip: 0, error: 0 };
  for (const t of targets) for (const s of t.scenarios) summary[s.status] += 1;
  return {
    schemaVersion: SCHEMA_VERSION,
    runId: '20250101T120000Z-abcd',
    nslabVersion: '0.1.0',
    startedAt: '2025-01-01T12:00:00.000Z',
    finishedAt: '2025-01-01T12:01:10.500Z',
    durationMs: 70_500,
    host: { os: 'linux', arch: 'x64', uname: HOST_UNAME, node: 'v20.19.0' },
    argv: ['scenario', 'all'],
    interrupted: false,
    targets,
    summary,
    view: buildView(targets),
    ...overrides,
  };
}

/** The two-target report: native and VM, each with a pass, a fail, an error and a skip. */
export const reportFixture = (): RunReport => reportOf([nativeTarget(), vmTarget()]);

/** `uname -a` of an Intel Mac, and what nslab records for a Windows host (Node's facts; it has no uname). */
export const DARWIN_UNAME =
  'Darwin mbp.local 23.6.0 Darwin Kernel Version 23.6.0: Mon Jul 29 21:13:00 PDT 2024; root:xnu-10063.141.2~1/RELEASE_X86_64 x86_64';
export const WIN32_UNAME = 'Windows_NT DESKTOP-NSLAB 10.0.22631 Windows 11 Pro x86_64';

const FOREIGN_HOSTS = {
  darwin: {
    os: 'darwin',
    uname: DARWIN_UNAME,
    kernel: {
      name: 'Darwin',
      release: '23.6.0',
      version:
        'Darwin Kernel Version 23.6.0: Mon Jul 29 21:13:00 PDT 2024; root:xnu-10063.141.2~1/RELEASE_X86_64',
      machine: 'x86_64',
    },
    model: 'MacBookPro16,1',
    qemuPid: 48213,
    accelerator: 'hvf',
    acceleratorReason: 'hvf is available (x86_64 guest on a x86_64 darwin host)',
    controlChannel: 'unix-socket',
  },
  win32: {
    os: 'win32',
    uname: WIN32_UNAME,
    kernel: { name: 'Windows_NT', release: '10.0.22631', version: 'Windows 11 Pro', machine: 'x86_64' },
    qemuPid: 7364,
    accelerator: 'whpx',
    acceleratorReason: 'whpx is available (x86_64 guest on a x86_64 win32 host)',
    controlChannel: 'tcp-tls-psk',
  },
} as const;

/**
 * The VM target of vmTarget() on an Intel Mac (hvf) or on Windows (whpx, QMP under TLS-PSK): only the host
 * layer differs, in the words nslab records there. Synthetic, like the rest of this file.
 */
export function vmTargetOn(os: keyof typeof FOREIGN_HOSTS): TargetReport {
  const t = vmTarget();
  const h = FOREIGN_HOSTS[os];
  t.host = { ...t.host!, ...h, kernel: { ...h.kernel } };
  return t;
}
