import type { ScenarioResult } from '../scenario/run.ts';
import { escapeHtml as e } from './escape.ts';
import { expectedText, show } from './expectation-text.ts';
import type { RunReport, TargetReport } from './types.ts';
import { osName, scenarioVerdicts, type TargetView, type TimelineBar } from './view.ts';

// report.html: one self-contained page (inline CSS, no script, no request of any kind), rendered from the
// report's JSON alone. Every verdict comes from report.view; every value from a target or a scenario goes
// through escapeHtml, in text and attributes alike (SVG included).

/** Each command output and observation dump is folded, and cut past this many bytes with a note. */
export const OUTPUT_CAP = 16 * 1024;

/** Text cut to the cap (by UTF-16 units, close enough to bytes for a note), with how much there was. */
function capped(text: string, cap = OUTPUT_CAP): string {
  if (text.length <= cap) return e(text);
  const bytes = Buffer.byteLength(text, 'utf8');
  return `${e(text.slice(0, cap))}\n<span class="cut">… truncated (${bytes} bytes in all; report.json has everything)</span>`;
}

const yesNo = (v: boolean | undefined) =>
  v === undefined
    ? '<span class="none">—</span>'
    : v
      ? '<span class="yes">yes</span>'
      : '<span class="no">no</span>';
const code = (v: string | number | undefined) =>
  v === undefined || v === '' ? '<span class="none">—</span>' : `<code>${e(v)}</code>`;
const badge = (status: string) => `<span class="badge ${e(status)}">${e(status.toUpperCase())}</span>`;

/** The headline: one column per target, the rows the product exists to put side by side. */
function headline(report: RunReport): string {
  const ts = report.view.targets;
  if (ts.length === 0) return '<p>No target ran.</p>';
  const row = (label: string, cell: (t: TargetView) => string) =>
    `<tr><th scope="row">${e(label)}</th>${ts.map((t) => `<td>${cell(t)}</td>`).join('')}</tr>`;
  const hasVm = ts.some((t) => t.layered);
  const hasEngine = ts.some((t) => t.engine);
  return `<div class="scroll"><table class="headline">
<thead><tr><th></th>${ts.map((t) => `<th scope="col">${e(t.column)}<br>${badge(t.status)}${t.reason ? ` <small>${e(t.reason)}</small>` : ''}</th>`).join('')}</tr></thead>
<tbody>
${row('host OS and uname -a', (t) => `${e(osName(t.host.os))}${t.host.model ? ` (${e(t.host.model)})` : ''}<br>${code(t.host.uname)}`)}
${hasVm ? row('the VM: uname -a', (t) => (t.layered ? code(t.observerUname) : '<span class="none">— (no VM)</span>')) : ''}
${row('container: uname -a', (t) => code(t.containerUname))}
${row('container: same kernel as the machine it runs on', (t) => yesNo(t.sameKernelAsObserver))}
${row('container: same kernel as the real host (uname -s -r -v -m)', (t) => yesNo(t.sameKernelAsHost))}
${hasEngine ? row('answer', (t) => (t.answer ? e(t.answer) : '—')) : ''}
${row('PID inside', (t) => code(t.pidInside))}
${row('PID as the host (or the VM) sees it', (t) => code(t.pidOutside))}
${hasVm ? row("the VM's process on the real host", (t) => code(t.vmProcess)) : ''}
${hasEngine ? row('Docker engine', (t) => code(t.engine)) : ''}
${row('accelerator', (t) => `${code(t.accelerator)}${t.acceleratorNote ? `<br><small>${e(t.acceleratorNote)}</small>` : ''}`)}
${hasVm ? row('boot', (t) => (t.boot ? e(t.boot) : '—')) : ''}
${hasVm ? row('guest network', (t) => (t.network ? e(t.network) : '—')) : ''}
${hasVm ? row('QEMU control', (t) => (t.control ? e(t.control) : '—')) : ''}
${row('runtime', (t) => code(t.runtime))}
${row('scenarios', (t) => `${t.counts.pass} passed, ${t.counts.fail} failed, ${t.counts.skip} skipped, ${t.counts.error} errors${t.from ? `<br><small>figures from ${e(t.from)}</small>` : ''}`)}
</tbody></table></div>`;
}

function answer(report: RunReport): string {
  const v = report.view.sameKernelEverywhere;
  if (v === undefined) return '';
  const text = v
    ? 'A process. On every target the container reports the very kernel of the machine it runs on: it is a process with its own view of the system, and where a VM is involved, the VM is what brings the kernel.'
    : 'Not on every target: somewhere the container reports another kernel than the machine it runs on. See the columns below.';
  return `<p class="verdict ${v ? 'yes' : 'no'}">${e(text)}</p>`;
}

const LAYER_TEXT: Record<string, string> = {
  container: 'in the container',
  vm: 'in the VM',
  host: 'on the host',
};

/** The PID chain, innermost first, as boxes and arrows (inline SVG). */
function pidChain(t: TargetView): string {
  if (t.chain.length === 0) return '';
  const w = 220;
  const gap = 40;
  const width = t.chain.length * w + (t.chain.length - 1) * gap;
  const boxes = t.chain
    .map((l, i) => {
      const x = i * (w + gap);
      const arrow =
        i < t.chain.length - 1
          ? `<path d="M${x + w + 4} 40 h${gap - 12}" class="arrow" marker-end="url(#head-${e(t.key.replace(/\W/g, '-'))})"/>`
          : '';
      const label = l.layer === 'host' && l.what === 'qemu' ? 'QEMU on the real host' : LAYER_TEXT[l.layer];
      return `<g><rect x="${x}" y="4" width="${w}" height="72" rx="6" class="box ${e(l.layer)}"/>
<text x="${x + 10}" y="24" class="small">${e(label)}</text>
<text x="${x + 10}" y="46" class="big">PID ${e(l.pid)}${l.what ? ` ${e(l.what)}` : ''}</text>
<text x="${x + 10}" y="66" class="small">${e(l.pidNs ?? '')}</text>${arrow}</g>`;
    })
    .join('\n');
  const id = `head-${t.key.replace(/\W/g, '-')}`;
  return `<figure><svg viewBox="0 0 ${width} 80" width="${width}" height="80" role="img" aria-label="${e(`PID chain for ${t.column}: ${t.chain.map((l) => `${l.pid} ${LAYER_TEXT[l.layer]}`).join(', then ')}`)}">
<defs><marker id="${e(id)}" markerWidth="8" markerHeight="8" refX="6" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" class="head"/></marker></defs>
${boxes}</svg><figcaption>${e(t.column)}: the same process, from its PID 1 outwards; the PID namespace under each.</figcaption></figure>`;
}

/** A target's timeline: boot phases (and an abandoned accelerator trial), then each scenario, as bars. */
function timelineSvg(t: TargetView): string {
  if (t.timeline.length === 0) return '';
  const end = Math.max(...t.timeline.map((b) => b.endMs), 1);
  const labelW = 170;
  const barW = 560;
  const rowH = 18;
  const x = (ms: number) => labelW + (ms / end) * barW;
  const bar = (b: TimelineBar, i: number) => {
    const y = i * rowH + 4;
    const bx = x(b.startMs);
    const bw = Math.max(2, x(b.endMs) - bx);
    const secs = `${((b.endMs - b.startMs) / 1000).toFixed(2)} s`;
    return `<g><title>${e(`${b.label}: ${(b.startMs / 1000).toFixed(2)}–${(b.endMs / 1000).toFixed(2)} s`)}</title>
<text x="0" y="${y + 12}" class="small">${e(b.label)}</text>
<rect x="${bx.toFixed(1)}" y="${y}" width="${bw.toFixed(1)}" height="${rowH - 5}" class="bar ${e(b.kind)}"/>
<text x="${Math.min(bx + bw + 4, labelW + barW - 40).toFixed(1)}" y="${y + 12}" class="small">${e(secs)}</text></g>`;
  };
  const height = t.timeline.length * rowH + 8;
  return `<figure><svg viewBox="0 0 ${labelW + barW + 50} ${height}" width="${labelW + barW + 50}" height="${height}" role="img" aria-label="${e(`timeline of ${t.column}, ${(end / 1000).toFixed(2)} s`)}">
${t.timeline.map(bar).join('\n')}</svg><figcaption>${e(t.column)}: ${e((end / 1000).toFixed(2))} s from the start (of the boot for its phases, of the target's preparation for the scenarios) to the last scenario's end.</figcaption></figure>`;
}

function expectationsTable(s: ScenarioResult): string {
  if (!s.expectations?.length) return '';
  const rows = s.expectations
    .map((x) => {
      return `<tr class="${x.ok ? 'ok' : 'bad'}"><td>${x.ok ? '✔' : '✘'}</td><td><code>${e(x.that)}</code></td><td>${e(x.op)}</td><td><code>${capped(expectedText(x), 2048)}</code></td><td><code>${capped(show(x.actual), 2048)}</code></td><td>${e(x.why ?? '')}</td></tr>`;
    })
    .join('\n');
  return `<div class="scroll"><table class="expect"><thead><tr><th></th><th>observed</th><th>check</th><th>expected</th><th>actual</th><th>why</th></tr></thead><tbody>
${rows}
</tbody></table></div>`;
}

/** The commands a scenario ran, each side, with exit status and (folded, capped) output. */
function commands(s: ScenarioResult): string {
  const o = s.observations;
  if (!o) return '';
  const items = (['inside', 'outside'] as const).flatMap((side) =>
    Object.entries(o[side].run ?? {}).map(
      ([name, r]) =>
        `<details><summary><code>${e(side)}.run.${e(name)}</code> exit ${e(r.exit)}${r.output ? ` <small>(${e(Buffer.byteLength(r.output))} bytes)</small>` : ''}</summary><pre>${capped(r.output)}</pre></details>`,
    ),
  );
  return items.length > 0 ? `<h4>Commands</h4>\n${items.join('\n')}` : '';
}

const STATUS_ORDER: Record<string, number> = { fail: 0, error: 1, pass: 2, skip: 3 };

function scenarioSection(report: RunReport, t: TargetReport, tv: TargetView, s: ScenarioResult): string {
  const why = s.reason
    ? `<p class="reason"><strong>${e(s.reason)}</strong>${s.detail ? `: ${capped(s.detail, 4096)}` : ''}</p>`
    : '';
  const v = scenarioVerdicts(report.view, tv.key, s.name);
  const verdict =
    v?.sameKernel !== undefined
      ? `<p>Same kernel inside and outside: ${yesNo(v.sameKernel)}${v.vmKernelIsHost !== undefined ? ` · the VM's kernel is the real host's: ${yesNo(v.vmKernelIsHost)}` : ''}</p>`
      : '';
  const chain = s.observations?.outside.parents?.map((p) => `${p.pid} ${p.comm}`).join(' ← ');
  const open = s.status === 'fail' || s.status === 'error' ? ' open' : '';
  return `<details class="scenario ${e(s.status)}"${open}><summary>${badge(s.status)} <strong>${e(s.name)}</strong> on ${e(tv.column)} <small>${e(s.durationMs)} ms</small></summary>
<p class="question">${e(s.question)}</p>
${why}${verdict}
${chain ? `<p><strong>Parent chain seen from outside:</strong> <code>${e(chain)}</code></p>` : ''}
${expectationsTable(s)}
${commands(s)}
${s.observations ? `<details><summary>every observation (JSON)</summary><pre>${capped(JSON.stringify(s.observations, null, 2), 4 * OUTPUT_CAP)}</pre></details>` : ''}
</details>`;
}

function facts(rows: [string, string | number | undefined][]): string {
  const shown = rows.filter(([, v]) => v !== undefined && v !== '');
  return `<table class="facts"><tbody>${shown.map(([k, v]) => `<tr><th scope="row">${e(k)}</th><td><code>${e(v)}</code></td></tr>`).join('')}</tbody></table>`;
}

function environment(report: RunReport): string {
  const targets = report.targets.map((t, i) => {
    const tv = report.view.targets[i]!;
    const pf = t.preflight;
    const pfRows: [string, string | number | undefined][] = pf
      ? [
          ['uid', pf.uid],
          ['effective capabilities', pf.capEff],
          ['unshare', pf.unshare],
          ...Object.entries(pf.sysctl).map(([k, v]): [string, number] => [k, v]),
          ...Object.entries(pf.config).map(([k, v]): [string, string] => [k, v]),
          [
            'tools',
            Object.entries(pf.tools)
              .map(([k, ok]) => `${k}${ok ? '' : ' (missing)'}`)
              .join(', '),
          ],
          ...Object.entries(pf.ns).map(([k, v]): [string, string] => [`ns ${k}`, v]),
        ]
      : [];
    return `<h3>${e(tv.column)}</h3>
${facts([
  ['uname -a', t.uname],
  ['access', t.access],
  ['runtime', tv.runtime],
  ['QEMU', t.host?.qemu ? `${t.host.qemu.version} (${t.host.qemu.path})` : undefined],
  ['image', t.host?.image ? `${t.host.image.digest} (${t.host.image.builder})` : undefined],
  ['guest kernel', t.host?.image?.kernelVersion],
  ['reused a kept VM', t.host?.reusedVm ? 'yes' : undefined],
])}
${pf ? `<details><summary>preflight facts</summary>${facts(pfRows)}</details>` : ''}`;
  });
  const merged = report.mergedFrom?.length
    ? `<p>Merged from ${report.mergedFrom.map((m) => `<code>${e(m.runId)}</code> (${e(osName(m.host.os))})`).join(', ')}.</p>`
    : '';
  return `<section><h2>Environment</h2>
${facts([
  ['nslab', report.nslabVersion],
  ['ran on', report.host.uname],
  ['Node', report.host.node],
  ['command', report.argv.join(' ')],
])}
${merged}
${targets.join('\n')}
</section>`;
}

const STYLE = `
:root{color-scheme:light dark;--fg:#1d232b;--muted:#5b6673;--line:#d8dee6;--pass:#13723b;--fail:#b3261e;--skip:#8a6100;--bg:#fff;--code:#f3f5f8;--box:#eef3fb;--vm:#f3eefb;--host:#eef7f1}
@media (prefers-color-scheme:dark){:root{--fg:#e4e8ee;--muted:#9aa5b1;--line:#39424d;--pass:#4cc27a;--fail:#ff7a70;--skip:#e0b34c;--bg:#14181d;--code:#1f252c;--box:#1d2a3d;--vm:#2a2140;--host:#1b3326}}
*{box-sizing:border-box}body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1200px;padding:1rem}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.2rem;margin:1.5rem 0 .5rem}h3{font-size:1.05rem;margin:1rem 0 .25rem}h4{margin:.75rem 0 .25rem}
.meta,.question,figcaption,small{color:var(--muted)}.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top}thead th{background:var(--code)}
code,pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--code);border-radius:3px;padding:0 .2rem;overflow-wrap:anywhere;white-space:pre-wrap}
pre{padding:.5rem;max-height:32rem;overflow:auto}.none{color:var(--muted)}.yes{color:var(--pass);font-weight:600}.no{color:var(--fail);font-weight:600}
.badge{font-size:.75rem;padding:.05rem .4rem;border-radius:999px;color:#fff;vertical-align:middle}
.badge.pass,.badge.ready{background:var(--pass)}.badge.fail,.badge.error{background:var(--fail)}.badge.skip{background:var(--skip)}
.verdict{font-size:1.05rem;padding:.5rem .75rem;border-left:4px solid var(--pass);background:var(--code)}.verdict.no{border-color:var(--fail)}
tr.bad td{background:color-mix(in srgb,var(--fail) 12%,transparent)}.reason,.cut{color:var(--fail)}
details.scenario{border:1px solid var(--line);border-radius:6px;padding:.4rem .75rem;margin:.5rem 0}details.scenario>summary{cursor:pointer}
figure{margin:.5rem 0;overflow-x:auto}svg{max-width:100%;height:auto}svg text{fill:var(--fg);font:12px system-ui,sans-serif}svg text.big{font-size:15px;font-weight:600}
.box{fill:var(--box);stroke:var(--line)}.box.vm{fill:var(--vm)}.box.host{fill:var(--host)}.arrow{stroke:var(--muted);stroke-width:2;fill:none}.head{fill:var(--muted)}
.bar.boot{fill:#4a78c2}.bar.fallback{fill:var(--fail)}.bar.scenario{fill:var(--pass)}
@media (max-width:640px){body{padding:.5rem;font-size:14px}th,td{padding:.25rem}}
@media print{details>*{display:block}pre{max-height:none}.scroll{overflow:visible}body{max-width:none}}
`;

/** The whole report as one self-contained HTML page: no scripts, no external styles, fonts or images. Pure. */
export function renderHtml(report: RunReport): string {
  const s = report.summary;
  const runtimes = [...new Set(report.targets.flatMap((t) => (t.runtime ? [t.runtime.name] : [])))];
  const headlineText = `${runtimes.length > 0 ? `runtime ${runtimes.join(', ')} · ` : ''}${s.pass} passed, ${s.fail} failed, ${s.skip} skipped, ${s.error} errors`;
  const sections = report.targets
    .flatMap((t, i) => t.scenarios.map((sc) => ({ t, tv: report.view.targets[i]!, sc })))
    .sort((a, b) => (STATUS_ORDER[a.sc.status] ?? 9) - (STATUS_ORDER[b.sc.status] ?? 9))
    .map(({ t, tv, sc }) => scenarioSection(report, t, tv, sc));
  const pictures = report.view.targets
    .map((t) => {
      const chain = pidChain(t);
      const time = timelineSvg(t);
      return chain || time ? `<h3>${e(t.column)}</h3>\n${chain}\n${time}` : '';
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="referrer" content="no-referrer">
<title>nslab report ${e(report.runId)}</title><style>${STYLE}</style></head>
<body>
<header><h1>Is a container a virtual machine or a process?</h1>
<p class="meta">nslab ${e(report.nslabVersion)} · run <code>${e(report.runId)}</code> · ${e(report.startedAt)} · ${e(headlineText)}${report.interrupted ? ' · <strong class="reason">interrupted</strong>' : ''}</p></header>
<main>
${answer(report)}
${headline(report)}
${pictures ? `<section><h2>The PID chain and the timeline</h2>\n${pictures}</section>` : ''}
<section><h2>Scenarios</h2>
${sections.length > 0 ? sections.join('\n') : '<p>No scenario ran.</p>'}
</section>
${environment(report)}
</main></body></html>
`;
}
