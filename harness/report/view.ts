import type { ScenarioResult, ScenarioStatus } from '../scenario/run.ts';
import { osName, type KernelIdentity } from '../vocabulary.ts';
import type { TargetReport } from './target-report.ts';

// The report's view: every verdict and every figure a renderer shows, computed here once from a run's
// results and stored in report.json (`view`). The terminal summary, report.html, junit.xml and summary.md
// only render it; none of them compares kernels or walks PIDs itself.

/** One step of the PID chain, innermost first: the container's PID 1, its PID outside, QEMU on the host. */
export interface ChainLink {
  /** Where this PID is seen: container, vm, host. */
  layer: 'container' | 'vm' | 'host';
  pid: number;
  /** What the process is there (its comm, or `qemu`). */
  what?: string;
  /** The PID namespace it is seen in, e.g. `pid:[4026531836]`, where known. */
  pidNs?: string;
}

/**
 * One bar of a target's timeline, in ms: a boot's phases from the start of the boot, scenarios from the
 * start of the target's preparation (which the boot follows within a few ms once the image is cached).
 */
export interface TimelineBar {
  label: string;
  kind: 'boot' | 'fallback' | 'scenario';
  startMs: number;
  endMs: number;
}

/** One column of the headline: a target, with the layers and verdicts the product exists to show. */
export interface TargetView {
  /** A unique key, also the column's id: `<host os>/<kind>`, with a suffix when a merge repeats one. */
  key: string;
  /** The column's heading, e.g. "native Linux" or "VM on darwin (hvf)". */
  column: string;
  kind: TargetReport['kind'];
  /** A VM (nslab's, WSL's or an engine's) sits between the container and the real host. */
  layered: boolean;
  status: TargetReport['status'];
  reason?: string;
  /** The real machine: its OS (linux, darwin, win32), `uname -a`, and its model where known. */
  host: { os: string; uname: string; model?: string };
  /** The machine the probe ran on (the host itself natively, the VM's Linux otherwise): `uname -a`. */
  observerUname?: string;
  /** The container's own `uname -a` and kernel (uname -s -r -v -m as one line). */
  containerUname?: string;
  containerKernel?: string;
  /**
   * Verdicts, by kernel identity (uname -s -r -v -m): the container's against the machine it runs on, and
   * against the real host (natively the same; under a VM, two kernels that may even be the same build).
   */
  sameKernelAsObserver?: boolean;
  sameKernelAsHost?: boolean;
  /** PID 1 inside; the same process as the host (native) or the VM sees it; QEMU's PID on the real host. */
  pidInside?: number;
  pidOutside?: number;
  qemuPid?: number;
  /** The VM's process on the real host in words ("5151 qemu"), or why it cannot be named ("not visible: ..."). */
  vmProcess?: string;
  /** The engine behind the docker CLI, for the engine target: "Docker Desktop (LinuxKit VM): Docker Engine 27.3.1". */
  engine?: string;
  chain: ChainLink[];
  accelerator?: string;
  /** Why that accelerator, and the hardware one abandoned first if any, in QEMU's words. */
  acceleratorNote?: string;
  /** How the VM came up: "restored from snapshot (N ms)" or "cold boot ...". */
  boot?: string;
  /** What the VM guest's network reached, in words (see networkText). */
  network?: string;
  /** How QEMU's control channels were protected, in words (see controlText). */
  control?: string;
  runtime?: string;
  /** The answer in words, where the container's kernel was seen from both sides. */
  answer?: string;
  /** The scenario the figures above come from (pid-ns where it ran). */
  from?: string;
  timeline: TimelineBar[];
  counts: Record<ScenarioStatus, number>;
}

/** Per scenario and target: the kernel verdicts of that scenario's own observations. */
export interface ScenarioVerdicts {
  target: string;
  scenario: string;
  sameKernel?: boolean;
  vmKernelIsHost?: boolean;
}

export interface ReportView {
  targets: TargetView[];
  scenarios: ScenarioVerdicts[];
  /**
   * The answer to the question, where the run observed it: on every target that saw both sides, the
   * container reports the kernel of the machine it runs on (a process, not a machine); undefined if none did.
   */
  sameKernelEverywhere?: boolean;
}

export const kernelLine = (k?: KernelIdentity): string | undefined =>
  k && k.name ? `${k.name} ${k.release} ${k.version} ${k.machine}` : undefined;

export { osName };

/**
 * How a target is drawn: its column and whether a VM sits between the container and the real host, as its
 * driver said (column, observer). Reports written before the drivers said it (nslab 0.1 without `column`)
 * get what those drivers would have said: the only place the view knows target kinds by name.
 */
function layout(t: TargetReport): { column: string; layered: boolean } {
  if (t.column !== undefined) return { column: t.column, layered: t.observer === 'vm' };
  if (t.kind === 'native') return { column: `native ${osName(t.os)}`, layered: false };
  if (t.kind === 'wsl') return { column: `WSL on ${osName(t.host?.os ?? '?')}`, layered: true };
  const accel = t.host?.accelerator ? ` (${t.host.accelerator})` : '';
  return { column: `VM on ${osName(t.host?.os ?? '?')}${accel}`, layered: true };
}

/** A VM (nslab's, WSL's, an engine's): the probe ran on a Linux kernel with a real host below it. */
const layered = (t: TargetReport) => layout(t).layered;

/** The real host's process that is the VM, as a target found it (QEMU's PID for nslab's VM). */
function vmProcessOf(
  t: TargetReport,
): { pid: number; what: string; how?: string } | { notVisible: string } | undefined {
  if (t.host?.vmProcess) return t.host.vmProcess;
  return t.host?.qemuPid !== undefined ? { pid: t.host.qemuPid, what: 'qemu' } : undefined;
}

/** The VM's process on the real host, in words: "5151 qemu", or why it cannot be named. */
export function vmProcessText(t: TargetReport): string | undefined {
  const p = vmProcessOf(t);
  if (!p) return undefined;
  return 'notVisible' in p
    ? `not visible: ${p.notVisible}`
    : `${p.pid} ${p.what}${p.how ? ` (${p.how})` : ''}`;
}

/** The host OS a target ran on: the real host below a VM or WSL, or the native target's own OS. */
const hostOs = (t: TargetReport) => (layered(t) ? (t.host?.os ?? '') : t.os);

/** The scenario whose observations stand for the target in the headline: pid-ns, else the first with PIDs. */
function representative(t: TargetReport): ScenarioResult | undefined {
  const usable = (s: ScenarioResult) =>
    s.observations?.inside.pid !== undefined && s.observations.outside.pid !== undefined;
  return t.scenarios.find((s) => s.name === 'pid-ns' && usable(s)) ?? t.scenarios.find(usable);
}

function verdicts(t: TargetReport, s: ScenarioResult): { sameKernel?: boolean; vmKernelIsHost?: boolean } {
  const inside = kernelLine(s.observations?.inside.kernel);
  const outside = kernelLine(s.observations?.outside.kernel);
  const host = kernelLine(t.host?.kernel);
  return {
    ...(inside && outside ? { sameKernel: inside === outside } : {}),
    ...(layered(t) && host && outside ? { vmKernelIsHost: host === outside } : {}),
  };
}

/** The boot phases (cumulative ms from the start of the boot) as bars, then each scenario's run. */
function timeline(t: TargetReport): TimelineBar[] {
  const bars: TimelineBar[] = [];
  // A reused VM's phases are those of the boot that made it, not of this run.
  const p = t.host?.reusedVm ? {} : (t.phases ?? {});
  let at = 0;
  if (p.accelFailed !== undefined) {
    const failed = t.host?.acceleratorFailed?.accelerator ?? 'hardware accelerator';
    bars.push({ label: `${failed} trial, abandoned`, kind: 'fallback', startMs: 0, endMs: p.accelFailed });
    at = p.accelFailed;
  }
  const steps: [string, string][] = [
    ['qemuSpawned', 'QEMU start'],
    ['restored', 'restore from snapshot'],
    ['firstConsoleByte', 'firmware'],
    ['kernelToInit', 'kernel'],
    ['snapshotSaved', 'init, then save for next runs'],
    ['secretsSent', 'init, keys handed over'],
    ['secretsReceived', 'keys into place'],
    ['guestReady', 'init finishes (clock, warm-up)'],
    ['sshBanner', 'SSH server'],
    ['firstCommand', 'first command'],
  ];
  for (const [phase, label] of steps) {
    const end = p[phase];
    if (end === undefined) continue;
    bars.push({ label, kind: 'boot', startMs: at, endMs: end });
    at = end;
  }
  for (const s of t.scenarios) {
    if (s.startMs === undefined || s.status === 'skip') continue;
    bars.push({ label: s.name, kind: 'scenario', startMs: s.startMs, endMs: s.startMs + s.durationMs });
  }
  return bars;
}

/** The VM's way up, in words; undefined for targets that boot nothing, and for a reused VM. */
export function bootText(t: TargetReport): string | undefined {
  const b = t.host?.boot;
  if (!b || t.host?.reusedVm) return undefined;
  if (b.mode === 'restore') return `restored from snapshot (${b.restoreMs} ms)`;
  const saved = {
    saved: ', saved for the next runs',
    off: ' (snapshots off: --no-snapshot)',
    none: '',
    failed: `, not saved: ${b.note ?? 'unknown reason'}`,
  }[b.snapshot];
  return `cold boot${saved}`;
}

/** The guest's network policy, in words; undefined for targets without a guest. */
export function networkText(t: TargetReport): string | undefined {
  const n = t.host?.guestNetwork;
  if (!n) return undefined;
  return n === 'isolated'
    ? 'isolated: the guest reaches nothing but its SSH forward (QEMU user network, restrict=on)'
    : "open: the guest reaches the host's loopback services and what the host reaches (--guest-network)";
}

/** How QEMU's QMP and secrets channels were protected, in words; undefined for targets without a VM. */
export function controlText(t: TargetReport): string | undefined {
  const c = t.host?.controlChannel;
  if (!c) return undefined;
  return {
    'unix-socket': 'Unix sockets in a folder only this user can open (mode 0700)',
    'tcp-tls-psk':
      'TCP on 127.0.0.1, TLS with a pre-shared key made for this boot: other local users cannot use them',
    tcp: 'TCP on 127.0.0.1 without authentication: any local user could reach them',
  }[c];
}

function chain(t: TargetReport, s: ScenarioResult | undefined): ChainLink[] {
  const o = s?.observations;
  if (!o || o.inside.pid === undefined || o.outside.pid === undefined) return [];
  const links: ChainLink[] = [
    { layer: 'container', pid: o.inside.pid, pidNs: o.inside.ns?.pid ?? o.outside.ns?.pid },
    {
      layer: layered(t) ? 'vm' : 'host',
      pid: o.outside.pid,
      ...(o.outside.parents?.[0]?.comm ? { what: o.outside.parents[0].comm } : {}),
      ...(o.outside.hostNs?.pid ? { pidNs: o.outside.hostNs.pid } : {}),
    },
  ];
  const vp = vmProcessOf(t);
  if (layered(t) && vp && !('notVisible' in vp)) links.push({ layer: 'host', pid: vp.pid, what: vp.what });
  return links;
}

/** "the container runs on the engine VM's kernel, not the host's", from the verdicts; none without them. */
function answerText(t: TargetReport, sameAsObserver?: boolean, sameAsHost?: boolean): { answer?: string } {
  if (sameAsObserver !== true) return {};
  if (!layered(t)) return { answer: "the container runs on this host's kernel" };
  const vm = t.engine ? "the engine VM's" : "the VM's";
  return { answer: `the container runs on ${vm} kernel${sameAsHost === false ? ", not the host's" : ''}` };
}

/** The view of one run's targets (or of several runs' targets, merged). Pure. */
export function buildView(targets: readonly TargetReport[]): ReportView {
  const seen = new Map<string, number>();
  const views: TargetView[] = [];
  const scenarios: ScenarioVerdicts[] = [];
  for (const t of targets) {
    const base = `${hostOs(t) || 'unknown'}/${t.kind}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    const key = n === 1 ? base : `${base}-${n}`;
    const rep = representative(t);
    const o = rep?.observations;
    const v = rep ? verdicts(t, rep) : {};
    const containerKernel = kernelLine(o?.inside.kernel);
    const hostKernel = layered(t) ? kernelLine(t.host?.kernel) : kernelLine(o?.outside.kernel);
    const counts = { pass: 0, fail: 0, skip: 0, error: 0 };
    for (const s of t.scenarios) {
      counts[s.status] += 1;
      const sv = verdicts(t, s);
      if (Object.keys(sv).length > 0) scenarios.push({ target: key, scenario: s.name, ...sv });
    }
    const failed = t.host?.acceleratorFailed;
    // The reason names the abandoned accelerator already when it was remembered; else say it once here.
    const reason = t.host?.acceleratorReason;
    const note = [
      reason,
      failed && !reason?.includes(failed.message)
        ? `${failed.accelerator} failed first: ${failed.message}`
        : undefined,
    ].filter(Boolean);
    views.push({
      key,
      column: layout(t).column,
      kind: t.kind,
      layered: layered(t),
      status: t.status,
      ...(t.reason ? { reason: t.reason } : {}),
      host: layered(t)
        ? {
            os: t.host?.os ?? '',
            uname: t.host?.uname ?? '',
            ...(t.host?.model ? { model: t.host.model } : {}),
          }
        : { os: t.os, uname: t.uname },
      ...(t.uname ? { observerUname: t.uname } : {}),
      ...(o?.inside.uname ? { containerUname: o.inside.uname } : {}),
      ...(containerKernel ? { containerKernel } : {}),
      ...(v.sameKernel !== undefined ? { sameKernelAsObserver: v.sameKernel } : {}),
      ...(containerKernel && hostKernel ? { sameKernelAsHost: containerKernel === hostKernel } : {}),
      ...(o?.inside.pid !== undefined ? { pidInside: o.inside.pid } : {}),
      ...(o?.outside.pid !== undefined ? { pidOutside: o.outside.pid } : {}),
      ...(t.host?.qemuPid !== undefined ? { qemuPid: t.host.qemuPid } : {}),
      ...(vmProcessText(t) ? { vmProcess: vmProcessText(t) } : {}),
      ...(t.engine
        ? {
            engine: `${t.engine.name} (${t.engine.runsIn})${t.engine.serverVersion ? `: ${t.engine.serverVersion}` : ''}`,
          }
        : {}),
      chain: chain(t, rep),
      ...(t.host?.accelerator ? { accelerator: t.host.accelerator } : {}),
      ...(note.length > 0 ? { acceleratorNote: note.join('; ') } : {}),
      ...(bootText(t) ? { boot: bootText(t) } : {}),
      ...(networkText(t) ? { network: networkText(t) } : {}),
      ...(controlText(t) ? { control: controlText(t) } : {}),
      ...(t.runtime ? { runtime: `${t.runtime.name} (${t.runtime.version})` } : {}),
      ...answerText(
        t,
        v.sameKernel,
        containerKernel && hostKernel ? containerKernel === hostKernel : undefined,
      ),
      ...(rep ? { from: rep.name } : {}),
      timeline: timeline(t),
      counts,
    });
  }
  const observed = views.filter((v) => v.sameKernelAsObserver !== undefined);
  return {
    targets: views,
    scenarios,
    ...(observed.length > 0 ? { sameKernelEverywhere: observed.every((v) => v.sameKernelAsObserver) } : {}),
  };
}

/** The verdicts of one scenario on one target, as the view holds them. */
export function scenarioVerdicts(
  view: ReportView,
  target: string,
  scenario: string,
): ScenarioVerdicts | undefined {
  return view.scenarios.find((s) => s.target === target && s.scenario === scenario);
}
