import type { RunReport } from '../report/types.ts';
import { kernelLine, scenarioVerdicts } from '../report/view.ts';

const yesNo = (v: boolean) => (v ? 'yes' : 'no');

/**
 * The human answer printed after a run: per target and scenario, the layers next to each other. A renderer
 * of the report: every verdict is read from report.view, none is computed here.
 */
export function formatSummary(report: RunReport): string {
  const lines: string[] = [];
  const push = (line: string) => lines.push(line);
  report.targets.forEach((t, i) => {
    const tv = report.view.targets[i]!;
    push(`${t.kind}: ${t.uname || '(unknown)'}${t.access ? ` [${t.access}]` : ''}`);
    if (tv.runtime) push(`  runtime: ${tv.runtime}`);
    if (t.status !== 'ready') push(`  ${t.status.toUpperCase()} ${t.reason ?? ''}: ${t.detail ?? ''}`);
    if (t.host) {
      push(`  real host: ${tv.host.uname}${tv.qemuPid ? ` — QEMU is PID ${tv.qemuPid} there` : ''}`);
      if (tv.engine) push(`  engine: ${tv.engine}`);
      if (tv.vmProcess && tv.qemuPid === undefined)
        push(`  the VM's process on the real host: ${tv.vmProcess}`);
      if (tv.accelerator) push(`  accelerator: ${tv.accelerator} (${tv.acceleratorNote ?? ''})`);
    }
    for (const s of t.scenarios) {
      push(
        `  ${s.status.toUpperCase().padEnd(5)} ${s.name} (${s.durationMs} ms)${s.reason ? ` — ${s.reason}` : ''}`,
      );
      if (s.status === 'error' && s.detail) push(`        ${s.detail.split('\n').join('\n        ')}`);
      const o = s.observations;
      const v = scenarioVerdicts(report.view, tv.key, s.name);
      if (o && (o.inside.kernel || o.outside.kernel)) {
        const where = tv.layered ? 'VM' : 'host';
        push(
          `        inside:  PID ${String(o.inside.pid ?? '—').padEnd(8)} kernel ${kernelLine(o.inside.kernel) ?? '—'}`,
        );
        push(
          `        outside: PID ${String(o.outside.pid ?? '—').padEnd(8)} kernel ${kernelLine(o.outside.kernel) ?? '—'} (the ${where})`,
        );
        if (v?.sameKernel !== undefined)
          push(`        same kernel inside and outside: ${yesNo(v.sameKernel)}`);
        if (v?.vmKernelIsHost !== undefined)
          push(`        VM kernel is the real host's kernel: ${yesNo(v.vmKernelIsHost)}`);
      }
      for (const x of s.expectations?.filter((e) => !e.ok) ?? []) {
        const vs = x.other !== undefined ? ` vs ${JSON.stringify(x.other)}` : '';
        push(`        ✘ ${x.that} ${x.op} ${JSON.stringify(x.value)}: got ${JSON.stringify(x.actual)}${vs}`);
      }
    }
  });
  const s = report.summary;
  const tail = report.interrupted ? ' (interrupted)' : '';
  push(`${s.pass} passed, ${s.fail} failed, ${s.skip} skipped, ${s.error} errors${tail}`);
  return lines.join('\n');
}
