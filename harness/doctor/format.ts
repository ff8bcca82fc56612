import type { DoctorItem, DoctorReport, Mark } from './checks.ts';

const MARK: Record<Mark, string> = { ok: '[✓]', warn: '[!]', fail: '[✗]', info: '[·]' };
const TITLE: Record<DoctorItem['section'], string> = {
  host: 'Host',
  qemu: 'QEMU',
  accelerator: 'Accelerator',
  network: 'Guest network',
  native: 'Namespaces on this host',
  runtime: 'Runtime folder',
  images: 'Images',
  tools: 'Tools the scenarios need',
};

/** The doctor's answer for a terminal: one line per finding, its evidence indented, the fix after an arrow. */
export function formatDoctor(r: DoctorReport): string {
  const lines: string[] = [];
  let section = '';
  for (const i of r.items) {
    if (i.section !== section) {
      if (section) lines.push('');
      section = i.section;
      lines.push(`${TITLE[section as DoctorItem['section']]}`);
    }
    lines.push(`  ${MARK[i.mark]} ${i.text}`);
    for (const d of i.detail ?? []) lines.push(`      ${d}`);
    if (i.hint && i.mark !== 'ok') lines.push(`      → ${i.hint}`);
  }
  lines.push('');
  if (r.vmPossible) lines.push(`A VM run can start here (accelerator: ${r.accelerator.accel}).`);
  else {
    lines.push('A VM run cannot start here. Missing:');
    for (const m of r.missing) lines.push(`  - ${m.what}${m.how ? `\n    → ${m.how}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
