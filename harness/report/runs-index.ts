import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { shellQuote } from '../util/shell-quote.ts';
import { escapeHtml as e } from './escape.ts';
import { readReport } from './read.ts';
import type { RunReport } from './types.ts';
import { osName } from './view.ts';

/**
 * What the index shows of a report: small enough to keep for every run in runs.json (see writeRunsIndex).
 * A whole RunReport is one too.
 */
export interface IndexedReport {
  argv: string[];
  startedAt: string;
  interrupted: boolean;
  summary: RunReport['summary'];
  mergedFrom?: unknown[];
  view: { targets: { column: string }[] };
  targets: {
    kind: string;
    status: string;
    host?: { os?: string; reusedVm?: boolean };
    phases?: { firstCommand?: number };
  }[];
}

/** The fields of a report the index shows, and no more. Pure. */
export function indexedReport(r: RunReport): IndexedReport {
  return {
    argv: r.argv,
    startedAt: r.startedAt,
    interrupted: r.interrupted,
    summary: r.summary,
    ...(r.mergedFrom ? { mergedFrom: r.mergedFrom.map((m) => m.runId) } : {}),
    view: { targets: r.view.targets.map((t) => ({ column: t.column })) },
    targets: r.targets.map((t) => ({
      kind: t.kind,
      status: t.status,
      host: { ...(t.host?.os ? { os: t.host.os } : {}), ...(t.host?.reusedVm ? { reusedVm: true } : {}) },
      ...(t.phases?.firstCommand !== undefined ? { phases: { firstCommand: t.phases.firstCommand } } : {}),
    })),
  };
}

/** One run folder under the report folder: its report, or why it could not be read. */
export type RunEntry = { runId: string; report: IndexedReport } | { runId: string; unreadable: string };

/** A VM target's boot, from QEMU's start to the first command over SSH; none for a reused or skipped VM. */
interface Boot {
  label: string;
  ms?: number;
  note?: string;
}

function boots(report: IndexedReport): Boot[] {
  const vms = report.targets.filter((t) => t.kind === 'vm');
  // A merged run has a VM per host: name each; a single one needs no name.
  const named = vms.length > 1;
  return vms.map((t) => ({
    label: named ? `${osName(t.host?.os ?? '?')} ` : '',
    // A reused VM booted in an earlier run: its phases are that boot's, not a measurement of this run.
    ms: t.host?.reusedVm ? undefined : t.phases?.firstCommand,
    note: t.host?.reusedVm ? 'reused VM' : t.status !== 'ready' ? t.status : undefined,
  }));
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function bootCell(report: IndexedReport, longest: number): string {
  const list = boots(report);
  if (list.length === 0) return '<td class="none">—</td>';
  const lines = list.map((b) => {
    if (b.ms === undefined)
      return `<div>${e(b.label)}<span class="none">—</span>${b.note ? ` <small>${e(b.note)}</small>` : ''}</div>`;
    // The bar's length is relative to the slowest boot on the page, so that a trend shows down the column.
    const width = longest > 0 ? Math.round((b.ms / longest) * 100) : 0;
    return `<div><span class="boot">${e(b.label)}${e(seconds(b.ms))}</span><span class="track"><span class="bar" style="width:${e(width)}%"></span></span></div>`;
  });
  return `<td class="boots${list.length > 1 ? ' named' : ''}">${lines.join('')}</td>`;
}

function counts(report: IndexedReport): string {
  const s = report.summary;
  return (['pass', 'fail', 'skip', 'error'] as const)
    .map((k) => `<span class="n ${k}${s[k] === 0 ? ' zero' : ''}">${e(s[k])} ${e(k)}</span>`)
    .join(' ');
}

const when = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

function row(entry: RunEntry, longest: number): string {
  try {
    return rowOf(entry, longest);
  } catch (error) {
    // A file that parses but lacks a report's shape (a hand-edited one) must not take the whole index down.
    return rowOf(
      { runId: entry.runId, unreadable: `not a report's shape: ${(error as Error).message}` },
      longest,
    );
  }
}

function rowOf(entry: RunEntry, longest: number): string {
  if ('unreadable' in entry) {
    return `<tr class="unreadable"><td><code class="runid">${e(entry.runId)}</code></td><td colspan="5"><strong>unreadable:</strong> ${e(entry.unreadable)}</td></tr>`;
  }
  // The folder name is a path segment of the link: encoded for the URL, then escaped for the attribute.
  const link = `<a href="${e(`${encodeURIComponent(entry.runId)}/report.html`)}"><code class="runid">${e(entry.runId)}</code></a>`;
  const r = entry.report;
  const argv = `nslab ${r.argv.map((w) => shellQuote(w.replaceAll('\0', '\\0'))).join(' ')}`;
  const where = r.view.targets.map((t) => t.column).join(', ');
  const merged = r.mergedFrom ? ` <small>merged from ${e(r.mergedFrom.length)} runs</small>` : '';
  const interrupted = r.interrupted ? ' <span class="n fail">interrupted</span>' : '';
  return `<tr><td>${link}${merged}</td><td>${e(when(r.startedAt))}</td><td><code>${e(argv)}</code></td><td>${e(where)}</td><td>${counts(r)}${interrupted}</td>${bootCell(r, longest)}</tr>`;
}

const STYLE = `
:root{color-scheme:light dark;--fg:#1d232b;--muted:#5b6673;--line:#d8dee6;--bg:#fff;--code:#f3f5f8;--pass:#13723b;--fail:#b3261e;--skip:#8a6100;--bar:#4f7cc4;--link:#1f5fbf}
@media (prefers-color-scheme: dark){:root{--fg:#e3e8ee;--muted:#9aa5b1;--line:#3a424c;--bg:#14181d;--code:#222830;--pass:#5fcf8a;--fail:#f08a80;--skip:#e0b04f;--bar:#7fa7e6;--link:#8cb8ff}}
*{box-sizing:border-box}body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1200px;padding:1.5rem}
h1{font-size:1.5rem;margin:0 0 .25rem}.meta{color:var(--muted);margin:0 0 1rem}a{color:var(--link)}
table{border-collapse:collapse;width:100%}th,td{border:1px solid var(--line);padding:.35rem .55rem;text-align:left;vertical-align:top}thead th{background:var(--code)}
code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--code);border-radius:3px;padding:0 .2rem;word-break:break-word}
small,.none,.zero{color:var(--muted)}.n{white-space:nowrap}.n.pass:not(.zero){color:var(--pass)}.n.fail:not(.zero),.n.error:not(.zero),.unreadable{color:var(--fail)}.n.skip:not(.zero){color:var(--skip)}
.boot{display:inline-block;min-width:4.5em;font-variant-numeric:tabular-nums}td.boots div,.runid{white-space:nowrap}.named .boot{min-width:8.5em}.track{display:inline-block;width:8em;vertical-align:middle}.bar{display:block;height:.6em;background:var(--bar);border-radius:2px}
`;

/**
 * When a run's measurements began: its startedAt (for a merge, its earliest input's, so that it sits with the
 * runs it measured in the trend), else the UTC time stamp its run id begins with (newRunId), else never.
 */
function startOf(entry: RunEntry): number {
  const started = 'report' in entry ? Date.parse(String(entry.report?.startedAt)) : NaN;
  if (!Number.isNaN(started)) return started;
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(entry.runId);
  return m ? Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : -Infinity;
}

/** The runs under a report folder as one self-contained page, newest first: no script, no network. Pure. */
export function renderRunsIndex(runs: RunEntry[]): string {
  const sorted = [...runs].sort((a, b) => startOf(b) - startOf(a) || (a.runId < b.runId ? 1 : -1));
  const longest = Math.max(
    0,
    ...sorted.flatMap((r) => {
      try {
        return 'report' in r ? boots(r.report).map((b) => b.ms ?? 0) : [];
      } catch {
        return []; // row() lists it as unreadable
      }
    }),
  );
  const body =
    sorted.length === 0
      ? '<p>No runs yet: <code>nslab scenario pid-ns</code> makes one.</p>'
      : `<table><thead><tr><th>run</th><th>started</th><th>command</th><th>targets</th><th>results</th><th>VM boot <small>(QEMU start to first command)</small></th></tr></thead><tbody>
${sorted.map((r) => row(r, longest)).join('\n')}
</tbody></table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="color-scheme" content="light dark">
<title>nslab runs</title><style>${STYLE}</style></head>
<body>
<header><h1>nslab runs</h1><p class="meta">${e(sorted.length)} run${sorted.length === 1 ? '' : 's'}, newest first; each links to its report.</p></header>
<main>
${body}
</main>
</body></html>
`;
}

/** A run's report as the index lists it, or why it cannot be: unreadable, or not a report's shape. */
async function readEntry(runId: string, file: string): Promise<RunEntry> {
  let report: RunReport;
  try {
    report = await readReport(file);
  } catch (error) {
    return { runId, unreadable: (error as Error).message };
  }
  try {
    return { runId, report: indexedReport(report) };
  } catch (error) {
    // A file that parses but lacks a report's shape (a hand-edited one) must not take the whole index down.
    return { runId, unreadable: `not a report's shape: ${(error as Error).message}` };
  }
}

/** runs.json: what the index lists of each run, with the report file's size and time it was read from. */
const CACHE = 'runs.json';
/** Bumped when IndexedReport changes: a cache of another format is dropped and every report read again. */
const CACHE_FORMAT = 1;
type Cached = Record<string, { mtimeMs: number; size: number; entry: RunEntry }>;

/** runs.json's runs, or none if it is missing, damaged or of another format. */
async function readCache(path: string): Promise<Cached> {
  const empty: Cached = Object.create(null);
  try {
    const data: unknown = JSON.parse(await readFile(path, 'utf8'));
    if (typeof data !== 'object' || data === null) return empty;
    const { format, runs } = data as { format?: unknown; runs?: unknown };
    if (format !== CACHE_FORMAT || typeof runs !== 'object' || runs === null) return empty;
    return Object.assign(empty, runs);
  } catch {
    return empty;
  }
}

/**
 * Writes `<reportDir>/index.html` atomically over every run folder's report.json. A report that cannot be
 * read is listed as unreadable; a folder without report.json is not a run. Only the reports new or changed
 * since the last index are read (runs.json keeps the rest): a run costs the same with 10 runs or 1000.
 */
export async function writeRunsIndex(reportDir: string): Promise<string> {
  const entries = await readdir(reportDir, { withFileTypes: true });
  const cachePath = join(reportDir, CACHE);
  const cached = await readCache(cachePath);
  const fresh: Cached = Object.create(null);
  // isDirectory() is false for the `latest` symlink, so the newest run is not listed twice.
  for (const d of entries.filter((x) => x.isDirectory() && !x.name.startsWith('.'))) {
    const file = join(reportDir, d.name, 'report.json');
    const st = await stat(file).catch(() => undefined);
    if (!st) continue;
    const known = Object.hasOwn(cached, d.name) ? cached[d.name] : undefined;
    // Within a millisecond: the time goes through a double and back (utimes, a copy). An unreadable
    // report is read again each time: a newer nslab may read it.
    if (
      known &&
      'report' in (known.entry ?? {}) &&
      Math.abs(known.mtimeMs - st.mtimeMs) < 1 &&
      known.size === st.size
    ) {
      fresh[d.name] = known;
      continue;
    }
    fresh[d.name] = { mtimeMs: st.mtimeMs, size: st.size, entry: await readEntry(d.name, file) };
  }
  await writeFileAtomic(cachePath, `${JSON.stringify({ format: CACHE_FORMAT, runs: fresh })}\n`);
  const index = join(reportDir, 'index.html');
  await writeFileAtomic(index, renderRunsIndex(Object.values(fresh).map((c) => c.entry)));
  return index;
}
