import type { RunReport } from '../report/types.ts';

const kernel = (k?: { name: string; release: string; version: string; machine: string }) =>
  k ? `${k.name} ${k.release} ${k.version} ${k.machine}` : '—';

/** The human answer printed after a run: per target and scenario, the two sides next to each other. */
export function formatSummary(report: RunReport): string {
  const lines: string[] = [];
  for (const t of report.targets) {
    lines.push(`${t.kind}: ${t.uname || '(unknown)'}${t.access ? ` [${t.access}]` : ''}`);
    if (t.status !== 'ready') lines.push(`  ${t.status.toUpperCase()} ${t.reason ?? ''}: ${t.detail ?? ''}`);
    if (t.host)
      lines.push(`  real host: ${t.host.uname}${t.host.qemuPid ? ` — QEMU is PID ${t.host.qemuPid}` : ''}`);
    for (const s of t.scenarios) {
      lines.push(
        `  ${s.status.toUpperCase().padEnd(5)} ${s.name} (${s.durationMs} ms)${s.reason ? ` — ${s.reason}` : ''}`,
      );
      if (s.status === 'error' && s.detail) lines.push(`        ${s.detail.split('\n').join('\n        ')}`);
      const o = s.observations;
      if (o) {
        lines.push(
          `        inside:  PID ${String(o.inside.pid ?? '—').padEnd(8)} kernel ${kernel(o.inside.kernel)}`,
        );
        lines.push(
          `        outside: PID ${String(o.outside.pid ?? '—').padEnd(8)} kernel ${kernel(o.outside.kernel)}`,
        );
        if (o.inside.kernel && o.outside.kernel) {
          lines.push(
            `        same kernel: ${kernel(o.inside.kernel) === kernel(o.outside.kernel) ? 'yes' : 'no'}`,
          );
        }
      }
      for (const x of s.expectations?.filter((e) => !e.ok) ?? []) {
        lines.push(
          `        ✘ ${x.that} ${x.op} ${JSON.stringify(x.value)}: got ${JSON.stringify(x.actual)}${x.other !== undefined ? ` vs ${JSON.stringify(x.other)}` : ''}`,
        );
      }
    }
  }
  const s = report.summary;
  lines.push(
    `${s.pass} passed, ${s.fail} failed, ${s.skip} skipped, ${s.error} errors${report.interrupted ? ' (interrupted)' : ''}`,
  );
  return lines.join('\n');
}
