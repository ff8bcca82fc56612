import type { RunReport } from '../report/types.ts';
import type { KernelIdentity } from '../vocabulary.ts';

const kernel = (k?: KernelIdentity) => (k ? `${k.name} ${k.release} ${k.version} ${k.machine}` : '—');

/** The human answer printed after a run: per target and scenario, the layers next to each other. */
export function formatSummary(report: RunReport): string {
  const lines: string[] = [];
  const push = (line: string) => lines.push(line);
  for (const t of report.targets) {
    push(`${t.kind}: ${t.uname || '(unknown)'}${t.access ? ` [${t.access}]` : ''}`);
    if (t.runtime) push(`  runtime: ${t.runtime.name} (${t.runtime.version})`);
    if (t.status !== 'ready') push(`  ${t.status.toUpperCase()} ${t.reason ?? ''}: ${t.detail ?? ''}`);
    if (t.host) {
      push(`  real host: ${t.host.uname}${t.host.qemuPid ? ` — QEMU is PID ${t.host.qemuPid} there` : ''}`);
      push(`  accelerator: ${t.host.accelerator ?? '—'} (${t.host.acceleratorReason ?? ''})`);
    }
    for (const s of t.scenarios) {
      push(
        `  ${s.status.toUpperCase().padEnd(5)} ${s.name} (${s.durationMs} ms)${s.reason ? ` — ${s.reason}` : ''}`,
      );
      if (s.status === 'error' && s.detail) push(`        ${s.detail.split('\n').join('\n        ')}`);
      const o = s.observations;
      if (o && (o.inside.kernel || o.outside.kernel)) {
        const where = t.kind === 'vm' ? 'VM' : 'host';
        push(
          `        inside:  PID ${String(o.inside.pid ?? '—').padEnd(8)} kernel ${kernel(o.inside.kernel)}`,
        );
        push(
          `        outside: PID ${String(o.outside.pid ?? '—').padEnd(8)} kernel ${kernel(o.outside.kernel)} (the ${where})`,
        );
        if (o.inside.kernel && o.outside.kernel) {
          push(
            `        same kernel inside and outside: ${kernel(o.inside.kernel) === kernel(o.outside.kernel) ? 'yes' : 'no'}`,
          );
        }
        if (t.host?.kernel && o.outside.kernel) {
          const same = kernel(t.host.kernel) === kernel(o.outside.kernel);
          push(`        VM kernel is the real host's kernel: ${same ? 'yes' : 'no'}`);
        }
      }
      for (const x of s.expectations?.filter((e) => !e.ok) ?? []) {
        const vs = x.other !== undefined ? ` vs ${JSON.stringify(x.other)}` : '';
        push(`        ✘ ${x.that} ${x.op} ${JSON.stringify(x.value)}: got ${JSON.stringify(x.actual)}${vs}`);
      }
    }
  }
  const s = report.summary;
  const tail = report.interrupted ? ' (interrupted)' : '';
  push(`${s.pass} passed, ${s.fail} failed, ${s.skip} skipped, ${s.error} errors${tail}`);
  return lines.join('\n');
}
