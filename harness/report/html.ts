import type { ScenarioResult } from '../scenario/run.ts';
import type { KernelIdentity } from '../vocabulary.ts';
import { escapeHtml as e, jsonForScript } from './escape.ts';
import type { RunReport, TargetReport } from './types.ts';

/** One column of the comparison: a layer of the stack, from the real host down to the container. */
interface Layer {
  label: string;
  note: string;
  uname?: string;
  kernel?: KernelIdentity;
  pid?: number | string;
  pidNs?: string;
}

const kernelText = (k?: KernelIdentity) =>
  k ? `${k.name} ${k.release} ${k.version} ${k.machine}` : undefined;

const TARGET_LABEL: Record<string, string> = { native: 'native Linux', vm: 'inside the VM' };

function layers(target: TargetReport, s: ScenarioResult): Layer[] {
  const o = s.observations;
  const out: Layer[] = [];
  if (target.kind === 'vm' && target.host) {
    out.push({
      label: `Real host (${target.host.os})`,
      note: 'runs QEMU as one ordinary process',
      uname: target.host.uname,
      kernel: target.host.kernel,
      pid: target.host.qemuPid !== undefined ? `${target.host.qemuPid} (qemu)` : undefined,
    });
  }
  out.push({
    label: target.kind === 'vm' ? 'VM (outside the container)' : 'Host (outside)',
    note: 'the isolated process, seen from outside its namespaces',
    uname: o?.outside.uname,
    kernel: o?.outside.kernel,
    pid: o?.outside.pid,
    pidNs: o?.outside.hostNs?.pid,
  });
  out.push({
    label: 'Container (inside)',
    note: 'the same process, seen from inside',
    uname: o?.inside.uname,
    kernel: o?.inside.kernel,
    pid: o?.inside.pid,
    pidNs: o?.inside.ns?.pid,
  });
  return out;
}

function row(label: string, cells: (string | number | undefined)[], code = true): string {
  const tds = cells
    .map((c) =>
      c === undefined || c === ''
        ? '<td class="none">—</td>'
        : code
          ? `<td><code>${e(c)}</code></td>`
          : `<td>${e(c)}</td>`,
    )
    .join('');
  return `<tr><th scope="row">${e(label)}</th>${tds}</tr>`;
}

function sameKernelVerdict(target: TargetReport, s: ScenarioResult): string {
  const inside = kernelText(s.observations?.inside.kernel);
  const outside = kernelText(s.observations?.outside.kernel);
  if (!inside || !outside) return '';
  const same = inside === outside;
  const where = target.kind === 'vm' ? "the VM's kernel" : "the host's kernel";
  const text = same
    ? `Yes: the container runs on ${where}. It is a process with its own view, not a machine.`
    : 'No: the two sides report different kernels.';
  let html = `<p class="verdict ${same ? 'yes' : 'no'}"><strong>Same kernel inside and outside?</strong> ${e(text)}</p>`;
  const hostKernel = kernelText(target.host?.kernel);
  if (target.kind === 'vm' && hostKernel) {
    const vmIsHost = hostKernel === outside;
    const t = vmIsHost
      ? "Yes: the VM reports the real host's kernel."
      : `No: QEMU boots a Linux kernel of its own; the real host (${target.host!.os}) runs another.`;
    html += `\n<p class="verdict"><strong>Is the VM's kernel the real host's?</strong> ${e(t)}</p>`;
  }
  return html;
}

function comparison(target: TargetReport, s: ScenarioResult): string {
  const ls = layers(target, s);
  const head = ls.map((l) => `<th scope="col">${e(l.label)}<br><small>${e(l.note)}</small></th>`).join('');
  return `<section class="compare">
<h2>${e(s.name)} ${e(TARGET_LABEL[target.kind] ?? target.kind)} <span class="badge ${e(s.status)}">${e(s.status.toUpperCase())}</span></h2>
<p class="question">${e(s.question)}</p>
<table><thead><tr><th></th>${head}</tr></thead><tbody>
${row(
  'uname -a',
  ls.map((l) => l.uname),
)}
${row(
  'kernel (uname -s -r -v -m)',
  ls.map((l) => kernelText(l.kernel)),
)}
${row(
  target.kind === 'vm'
    ? 'PID of the isolated process (on the real host: of QEMU)'
    : 'PID of the isolated process',
  ls.map((l) => l.pid),
)}
${row(
  'PID namespace',
  ls.map((l) => l.pidNs),
)}
</tbody></table>
${sameKernelVerdict(target, s)}
</section>`;
}

function expectationsTable(s: ScenarioResult): string {
  if (!s.expectations?.length) return '';
  const rows = s.expectations
    .map((x) => {
      const expected =
        x.op === 'sameAs' || x.op === 'differsFrom'
          ? `${x.value} = ${JSON.stringify(x.other)}`
          : JSON.stringify(x.value);
      return `<tr class="${x.ok ? 'ok' : 'bad'}"><td>${x.ok ? '✔' : '✘'}</td><td><code>${e(x.that)}</code></td><td>${e(x.op)}</td><td><code>${e(expected)}</code></td><td><code>${e(JSON.stringify(x.actual))}</code></td><td>${e(x.why ?? '')}</td></tr>`;
    })
    .join('\n');
  return `<table class="expect"><thead><tr><th></th><th>observed</th><th>check</th><th>expected</th><th>actual</th><th>why</th></tr></thead><tbody>
${rows}
</tbody></table>`;
}

function scenarioDetail(target: TargetReport, s: ScenarioResult): string {
  const why = s.reason
    ? `<p class="reason"><strong>${e(s.reason)}</strong>${s.detail ? `: ${e(s.detail)}` : ''}</p>`
    : '';
  const chain = s.observations?.outside.parents?.map((p) => `${p.pid} ${p.comm}`).join(' ← ');
  return `<section class="detail">
<h3>${e(s.name)} on ${e(target.kind)}: <span class="badge ${e(s.status)}">${e(s.status.toUpperCase())}</span> <small>${e(s.durationMs)} ms</small></h3>
${why}
${chain ? `<p><strong>Parent chain seen from outside:</strong> <code>${e(chain)}</code></p>` : ''}
${s.observations?.outside.nspid ? `<p><strong>NSpid</strong> (host PID first, innermost last): <code>${e(s.observations.outside.nspid.join(' '))}</code></p>` : ''}
${expectationsTable(s)}
${s.observations?.inside.ps ? `<details><summary>ps inside</summary><pre>${e(s.observations.inside.ps)}</pre></details>` : ''}
${s.observations ? `<details><summary>all observations (JSON)</summary><pre>${e(JSON.stringify(s.observations, null, 2))}</pre></details>` : ''}
</section>`;
}

function targetNote(t: TargetReport): string {
  const bits = [`<strong>${e(t.kind)}</strong>`, `status ${e(t.status)}`];
  if (t.access) bits.push(`access ${e(t.access)}`);
  if (t.runtime) bits.push(`runtime ${e(t.runtime.name)} (${e(t.runtime.version)})`);
  if (t.host?.accelerator)
    bits.push(
      `accelerator ${e(t.host.accelerator)}${t.host.acceleratorReason ? ` (${e(t.host.acceleratorReason)})` : ''}`,
    );
  if (t.reason)
    bits.push(
      `<span class="reason">${e(t.reason)}${t.detail ? `: ${e(t.detail)}` : ''}${t.hint ? ` — ${e(t.hint)}` : ''}</span>`,
    );
  const phases = t.phases
    ? `<br><small>${Object.entries(t.phases)
        .map(([k, v]) => `${e(k)} ${e(Math.round(v))} ms`)
        .join(' · ')}</small>`
    : '';
  return `<li>${bits.join(' · ')}${phases}</li>`;
}

const STYLE = `
:root{--fg:#1d232b;--muted:#5b6673;--line:#d8dee6;--pass:#13723b;--fail:#b3261e;--skip:#8a6100;--bg:#fff;--code:#f3f5f8}
*{box-sizing:border-box}body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1200px;padding:1.5rem}
h1{font-size:1.6rem;margin:0 0 .25rem}h2{font-size:1.2rem;margin:1.5rem 0 .25rem}h3{font-size:1.05rem}
.meta{color:var(--muted);margin:0 0 1rem}table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid var(--line);padding:.4rem .6rem;text-align:left;vertical-align:top}thead th{background:var(--code)}
code,pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--code);border-radius:3px;padding:0 .2rem;word-break:break-word;white-space:pre-wrap}
pre{padding:.6rem;overflow:auto}small{color:var(--muted);font-weight:normal}.none{color:var(--muted)}
.badge{font-size:.8rem;padding:.1rem .45rem;border-radius:999px;color:#fff;vertical-align:middle}
.badge.pass{background:var(--pass)}.badge.fail,.badge.error{background:var(--fail)}.badge.skip{background:var(--skip)}
.verdict{font-size:1.05rem;padding:.5rem .75rem;border-left:4px solid var(--pass);background:#eef7f1}.verdict.no{border-color:var(--fail);background:#fbeeed}
tr.bad td{background:#fbeeed}.reason{color:var(--fail)}.question{color:var(--muted);margin:0}
`;

/** The whole report as one self-contained HTML page: no external scripts, styles or fonts. Pure. */
export function renderHtml(report: RunReport): string {
  const compared = report.targets.flatMap((t) =>
    t.scenarios.filter((s) => s.observations?.inside && s.observations?.outside).map((s) => comparison(t, s)),
  );
  const s = report.summary;
  const runtimes = [...new Set(report.targets.flatMap((t) => (t.runtime ? [t.runtime.name] : [])))];
  const headline = `${runtimes.length > 0 ? `runtime ${runtimes.join(', ')} · ` : ''}${s.pass} passed, ${s.fail} failed, ${s.skip} skipped, ${s.error} errors`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>nslab report ${e(report.runId)}</title><style>${STYLE}</style></head>
<body>
<header><h1>Is a container a virtual machine or a process?</h1>
<p class="meta">nslab ${e(report.nslabVersion)} · run <code>${e(report.runId)}</code> · ${e(report.startedAt)} · ${e(headline)}${report.interrupted ? ' · <strong class="reason">interrupted</strong>' : ''}</p></header>
<main>
${compared.length > 0 ? compared.join('\n') : '<p>No scenario produced observations in this run; see the targets below for why.</p>'}
<h2>Targets</h2><ul>${report.targets.map(targetNote).join('\n')}</ul>
<p class="meta">nslab ran on <code>${e(report.host.uname)}</code> (${e(report.host.os)}/${e(report.host.arch)}, Node ${e(report.host.node)})</p>
<h2>Details</h2>
${report.targets.flatMap((t) => t.scenarios.map((sc) => scenarioDetail(t, sc))).join('\n')}
</main>
<script type="application/json" id="nslab-report">${jsonForScript(report)}</script>
</body></html>
`;
}
