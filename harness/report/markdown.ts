import type { ScenarioResult } from '../scenario/run.ts';
import type { RunReport } from './types.ts';
import { osName, type TargetView } from './view.ts';
import { expectedText, show } from './expectation-text.ts';

// summary.md, for a GitHub step summary: the counts, the headline comparison from report.view, then what
// failed, errored and was skipped. Every value from a target is escaped, so no HTML or table syntax gets in.

/** GitHub drops a step summary above 1 MiB; half of that leaves room for other steps' summaries. */
export const MARKDOWN_CAP = 512 * 1024;
/** The line that ends a summary cut to MARKDOWN_CAP. */
export const TRUNCATION_LINE = '… truncated: see report.html';
/** The most characters of one value shown in the headline table, and in a failure's details. */
const HEADLINE_CELL_CAP = 400;
const DETAIL_CELL_CAP = 2000;

// Control characters (other than tab and line breaks), noncharacters and lone surrogates print as nothing useful.
const UNPRINTABLE =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * Escapes a value for inline Markdown and GFM table cells: Markdown punctuation and `|` backslashed,
 * & < > as entities (so no HTML gets in), line breaks as <br>, and at most `cap` characters.
 */
export function escapeMarkdown(value: unknown, cap = DETAIL_CELL_CAP): string {
  let text =
    value === undefined || value === null
      ? ''
      : typeof value === 'string'
        ? value
        : (JSON.stringify(value) ?? String(value));
  text = text.replace(UNPRINTABLE, '');
  if (text.length > cap) {
    // Never cut between the two halves of a surrogate pair.
    const end = /[\uD800-\uDBFF]/.test(text[cap - 1] ?? '') ? cap - 1 : cap;
    text = `${text.slice(0, end)}… (${text.length - end} more characters)`;
  }
  return text
    .replace(/[\\`*_[\]|~]/g, '\\$&')
    .replace(/[&<>]/g, (c) => ENTITIES[c]!)
    .replace(/\r\n|\r|\n/g, '<br>');
}

const code = (value: unknown, cap?: number): string =>
  value === undefined || value === '' ? '—' : `<code>${escapeMarkdown(value, cap)}</code>`;
const plain = (value: unknown, cap?: number): string =>
  value === undefined || value === '' ? '—' : escapeMarkdown(value, cap);
const yesNo = (v: boolean | undefined): string => (v === undefined ? '—' : v ? 'yes' : 'no');

const table = (head: string[], rows: string[][]): string =>
  [head, head.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

type Row = [label: string, cell: (v: TargetView) => string];

/** The headline: a column per view target, rows for the layers and verdicts. */
function headline(targets: readonly TargetView[]): string {
  const names = targets.map((v) => v.column);
  const head = [
    '',
    ...targets.map((v, i) =>
      escapeMarkdown(
        names.indexOf(v.column) === i && names.lastIndexOf(v.column) === i
          ? v.column
          : `${v.column} (${v.key})`,
      ),
    ),
  ];
  const cap = HEADLINE_CELL_CAP;
  const vmRow: Row = ['VM `uname -a`', (v) => (v.layered ? code(v.observerUname, cap) : '—')];
  const rows: Row[] = [
    ['status', (v) => plain(v.reason ? `${v.status}: ${v.reason}` : v.status, cap)],
    ['host OS', (v) => plain(v.host.os ? osName(v.host.os) : undefined, cap)],
    ['host `uname -a`', (v) => code(v.host.uname, cap)],
    // The VM's own Linux sits between the host and the container; natively there is no such layer.
    ...(targets.some((v) => v.layered) ? [vmRow] : []),
    ['container `uname -a`', (v) => code(v.containerUname, cap)],
    ['same kernel as the host', (v) => yesNo(v.sameKernelAsHost)],
    ['PID inside', (v) => plain(v.pidInside)],
    ['PID as the host or VM sees it', (v) => plain(v.pidOutside)],
    ['accelerator', (v) => plain(v.accelerator, cap)],
    ['boot', (v) => plain(v.boot, cap)],
    ['guest network', (v) => plain(v.network, cap)],
    ['QEMU control', (v) => plain(v.control, cap)],
    ['runtime', (v) => plain(v.runtime, cap)],
  ];
  return table(
    head,
    rows.map(([label, cell]) => [label, ...targets.map(cell)]),
  );
}

const where = (s: ScenarioResult, v: TargetView) =>
  `**${escapeMarkdown(s.name)}** · ${escapeMarkdown(v.column)} · <code>${escapeMarkdown(v.key)}</code>`;

/** One failed or errored scenario: what, where, why, and for a failure the expectations that failed. */
function problem(s: ScenarioResult, v: TargetView): string {
  if (s.status === 'error')
    return `✘ ${where(s, v)}: error, ${plain(s.reason ?? 'error')}${s.detail ? `: ${escapeMarkdown(s.detail)}` : ''}`;
  const all = s.expectations ?? [];
  const failed = all.filter((x) => !x.ok);
  const reason = s.reason ?? `${failed.length} of ${all.length} expectations failed`;
  const line = `✘ ${where(s, v)}: fail, ${escapeMarkdown(reason)}${s.detail ? `: ${escapeMarkdown(s.detail)}` : ''}`;
  if (failed.length === 0) return line;
  const rows = failed.map((x) => [
    code(x.that),
    plain(x.op),
    code(expectedText(x)),
    code(show(x.actual)),
    plain(x.why),
  ]);
  return `${line}\n\n${table(['observed', 'check', 'expected', 'actual', 'why'], rows)}`;
}

const skipped = (s: ScenarioResult, v: TargetView) =>
  `- ${where(s, v)}: ${plain([s.reason, s.detail].filter(Boolean).join(': ') || 'skipped')}`;

/** The run as Markdown for a GitHub step summary, at most MARKDOWN_CAP bytes. Pure. */
export function renderMarkdown(report: RunReport): string {
  const views = report.view.targets;
  const total = { pass: 0, fail: 0, skip: 0, error: 0 };
  for (const v of views) for (const k of ['pass', 'fail', 'skip', 'error'] as const) total[k] += v.counts[k];
  const ok = total.fail === 0 && total.error === 0;
  const counts = `${total.fail} failed · ${total.error} errors · ${total.skip} skipped · ${total.pass} passed`;
  const meta = [
    `run <code>${escapeMarkdown(report.runId)}</code>`,
    `nslab ${escapeMarkdown(report.nslabVersion)}`,
    `started ${escapeMarkdown(report.startedAt)}`,
    ...(report.mergedFrom ? [`merged from ${report.mergedFrom.length} runs`] : []),
    ...(report.interrupted ? ['**interrupted**'] : []),
  ].join(' · ');
  const head = `## ${ok ? '✅' : '❌'} nslab: ${counts}\n\n${meta}\n\n${views.length > 0 ? headline(views) : 'No target ran.'}\n`;

  // Each entry is a block; the first of a section carries the section's heading.
  const pairs = report.targets.flatMap((t, i) => {
    const v = views[i];
    return v ? t.scenarios.map((s) => ({ s, v })) : [];
  });
  const entries: string[] = [];
  // Problems are paragraphs apart; skipped ones make one tight list.
  const section = (title: string, blocks: string[], gap: string) =>
    blocks.forEach((b, i) => entries.push(i === 0 ? `\n### ${title}\n\n${b}\n` : `${gap}${b}\n`));
  section(
    'Failures and errors',
    pairs.filter(({ s }) => s.status === 'fail' || s.status === 'error').map(({ s, v }) => problem(s, v)),
    '\n',
  );
  section(
    'Skipped',
    pairs.filter(({ s }) => s.status === 'skip').map(({ s, v }) => skipped(s, v)),
    '',
  );

  // Cut whole entries, keeping room for the truncation line; the headline is always kept.
  const budget = MARKDOWN_CAP - 256;
  let out = head;
  let size = bytes(head);
  let shown = 0;
  for (const entry of entries) {
    const n = bytes(entry);
    if (size + n > budget) break;
    out += entry;
    size += n;
    shown += 1;
  }
  if (shown < entries.length || size > budget) {
    // A headline too large by itself (thousands of merged targets) is cut at a line break; budget / 4
    // characters are at most budget bytes of UTF-8.
    if (size > budget) out = out.slice(0, out.lastIndexOf('\n', Math.floor(budget / 4)) + 1);
    out += `\n${TRUNCATION_LINE} (${entries.length - shown} of ${entries.length} entries not shown)\n`;
  }
  return out;
}
