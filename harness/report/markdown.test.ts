import { describe, expect, it } from 'vitest';
import { escapeMarkdown, MARKDOWN_CAP, renderMarkdown, TRUNCATION_LINE } from './markdown.ts';
import type { ScenarioResult } from '../scenario/run.ts';
import {
  HOSTILE,
  nativeTarget,
  reportFixture,
  reportOf,
  vmTarget,
} from '../../test/helpers/report-fixture.ts';

/** Splits a GFM table row into cells the way GitHub does: on every `|` not escaped by a backslash. */
const cells = (row: string) =>
  row
    .trim()
    .replace(/^\|/, '')
    .replace(/(?<!\\)\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());

/** The first table in the text: its header cells and its rows, keyed by their first cell. */
function headlineTable(md: string): { head: string[]; rows: Map<string, string[]>; lines: string[] } {
  const all = md.split('\n');
  const start = all.findIndex((l) => l.startsWith('|'));
  const end = all.findIndex((l, i) => i > start && !l.startsWith('|'));
  const lines = all.slice(start, end);
  const [head, sep, ...body] = lines.map(cells);
  expect(sep!.every((c) => c === '---')).toBe(true);
  return { head: head!, rows: new Map(body.map((r) => [r[0]!, r.slice(1)])), lines };
}

const MiB = 1024 * 1024;

describe('renderMarkdown', () => {
  const report = reportFixture();
  const md = renderMarkdown(report);

  it('opens with a heading that counts every status, from the view', () => {
    const heading = md.split('\n')[0]!;
    expect(heading).toMatch(/^## /);
    expect(heading).toContain('2 failed');
    expect(heading).toContain('2 errors');
    expect(heading).toContain('2 skipped');
    expect(heading).toContain('2 passed');
    const changed = structuredClone(report);
    changed.view.targets[0]!.counts.pass = 40;
    expect(renderMarkdown(changed).split('\n')[0]).toContain('41 passed');
  });

  it("has a column per view target, and the headline's values come from report.view", () => {
    const changed = structuredClone(report);
    const v = changed.view.targets[0]!;
    // Values the observations do not hold: only a renderer reading the view can show them.
    Object.assign(v, {
      column: 'column from the view',
      pidInside: 4242,
      pidOutside: 31337,
      sameKernelAsHost: false,
      containerUname: 'Linux from-the-view',
      accelerator: 'tcg-from-view',
      runtime: 'crun (from the view)',
    });
    changed.view.targets[1]!.sameKernelAsHost = undefined;
    const { head, rows } = headlineTable(renderMarkdown(changed));
    expect(head.slice(1)).toEqual(['column from the view', report.view.targets[1]!.column]);
    expect(rows.get('PID inside')).toEqual(['4242', '1']);
    expect(rows.get('PID as the host or VM sees it')).toEqual([
      '31337',
      String(report.view.targets[1]!.pidOutside),
    ]);
    expect(rows.get('same kernel as the host')).toEqual(['no', '—']);
    expect(rows.get('container `uname -a`')![0]).toBe('<code>Linux from-the-view</code>');
    expect(rows.get('accelerator')).toEqual(['tcg-from-view', 'kvm']);
    expect(rows.get('runtime')![0]).toBe('crun (from the view)');
  });

  it('shows the fixture as the view has it: same kernel yes natively, no in the VM; no accelerator natively', () => {
    const { rows } = headlineTable(md);
    expect(report.view.targets.map((v) => v.sameKernelAsHost)).toEqual([true, false]);
    expect(rows.get('same kernel as the host')).toEqual(['yes', 'no']);
    expect(rows.get('accelerator')).toEqual(['—', 'kvm']);
    expect(rows.get('host OS')).toEqual(['Linux', 'Linux']);
    expect(rows.get('VM `uname -a`')![0]).toBe('—');
  });

  it('a | or a line break in a uname cannot break the table; <img never appears unescaped', () => {
    const plainRows = headlineTable(md).lines.length;
    const hostile = structuredClone(report);
    hostile.view.targets[0]!.host.uname = `Linux a|b\nc\r\nd \`tick\` ${HOSTILE.img}`;
    hostile.view.targets[1]!.containerUname = `| --- | ${HOSTILE.scriptEnd}\n| injected | row |`;
    const out = renderMarkdown(hostile);
    const { head, lines } = headlineTable(out);
    expect(lines).toHaveLength(plainRows);
    for (const line of lines) expect(cells(line)).toHaveLength(head.length);
    const { rows } = headlineTable(out);
    expect(rows.get('host `uname -a`')![0]).toBe(
      '<code>Linux a\\|b<br>c<br>d \\`tick\\` &lt;img src=x onerror=alert(1)&gt;</code>',
    );
    expect(out).not.toContain('<img');
    expect(out).not.toContain('</script>');
  });

  it('lets no HTML in but its own <code> and <br>, whatever the targets printed', () => {
    const tags = new Set([...md.matchAll(/<\/?([a-z][a-z0-9]*)/gi)].map((m) => m[1]!.toLowerCase()));
    expect(tags.has('code')).toBe(true);
    for (const tag of tags) expect(['br', 'code']).toContain(tag);
    expect(md).toContain('&lt;img src=x onerror=alert(1)&gt;');
    for (const c of ['\u0000', '\u001b', '\uffff']) expect(md).not.toContain(c);
  });

  it('lists failures and errors first, with the failed expectations, then skipped with reasons', () => {
    const failures = md.indexOf('### Failures and errors');
    const skipped = md.indexOf('### Skipped');
    expect(failures).toBeGreaterThan(md.indexOf('| PID inside |'));
    expect(skipped).toBeGreaterThan(failures);
    const problems = md.slice(failures, skipped);
    for (const name of ['markup', 'probe-crash', 'user-ns']) expect(problems).toContain(`**${name}**`);
    // Each names its target by the view's column and key.
    const [native, vm] = report.view.targets.map((v) => `${v.column} · <code>${v.key}</code>`);
    expect(problems).toContain(`**user-ns** · ${vm}: fail`);
    expect(problems).toContain(`**markup** · ${native}: fail`);
    expect(problems).toContain(`**markup** · ${vm}: error, timeout`);
    expect(problems).toContain('2 of 3 expectations failed');
    expect(problems).toContain('<code>inside.run.say.output</code>');
    expect(problems).toContain('<code>outside.pid = 2390</code>');
    expect(problems).toContain('error, probe-failed: the probe exited with 2');
    expect(problems).toContain('timeout: the scenario did not finish within 60 s');
    // The expectation that held is not listed among the failed.
    expect(problems).not.toMatch(/<code>inside\.pid<\/code> \| equals/);
    const skips = md
      .slice(skipped)
      .split('\n')
      .filter((l) => l.startsWith('- '));
    expect(skips).toHaveLength(2);
    expect(skips[0]).toContain('kernel-config:CONFIG\\_TIME\\_NS: this kernel has no time namespaces');
    expect(md).not.toContain(TRUNCATION_LINE);
  });

  it('renders 5 MB of command output under 1 MiB, cut at 512 KiB with the truncation line', () => {
    const chunk = `${HOSTILE.img} ${'x'.repeat(10_000)}`;
    const failing = (i: number): ScenarioResult => ({
      name: `big-${i}`,
      title: 'big',
      question: 'q',
      status: 'fail',
      reason: '1 of 1 expectations failed',
      durationMs: 1,
      observations: { inside: { run: { say: { output: chunk, exit: 0 } } }, outside: {} },
      expectations: [{ that: 'inside.run.say.output', op: 'equals', value: 'x', actual: chunk, ok: false }],
    });
    const native = nativeTarget();
    native.scenarios = Array.from({ length: 500 }, (_, i) => failing(i));
    const big = reportOf([native, vmTarget()]);
    const outputBytes = big.targets[0]!.scenarios.reduce(
      (n, s) => n + s.observations!.inside.run!.say!.output.length,
      0,
    );
    expect(outputBytes).toBeGreaterThan(5_000_000);
    const out = renderMarkdown(big);
    const size = Buffer.byteLength(out);
    expect(size).toBeLessThan(MiB);
    expect(size).toBeLessThanOrEqual(MARKDOWN_CAP);
    expect(out).toContain(TRUNCATION_LINE);
    expect(out.trimEnd().split('\n').at(-1)).toMatch(
      /^… truncated: see report\.html \(\d+ of \d+ entries not shown\)$/,
    );
    // The headline and the first failures are kept; only the detail lists are cut.
    expect(out).toContain('| PID inside |');
    expect(out).toContain('**big-0**');
    expect(out).not.toContain('**big-499**');
    // Whole entries are cut, and the line counts them: shown + not shown = all of them.
    const [, hidden, all] = /\((\d+) of (\d+) entries not shown\)/.exec(out)!;
    const shown = out.split('\n').filter((l) => /^(✘|-) \*\*/.test(l)).length;
    expect(Number(all)).toBe(
      big.targets.flatMap((t) => t.scenarios).filter((s) => s.status !== 'pass').length,
    );
    expect(shown + Number(hidden)).toBe(Number(all));
    expect(shown).toBeGreaterThan(100);
    expect(out).not.toContain('<img');
  });

  it('caps one huge value in a cell without cutting anything else', () => {
    const huge = structuredClone(report);
    const crash = huge.targets[0]!.scenarios.find((s) => s.name === 'probe-crash')!;
    crash.detail = 'y'.repeat(5_000_000);
    const out = renderMarkdown(huge);
    expect(Buffer.byteLength(out)).toBeLessThan(64 * 1024);
    expect(out).toMatch(/y… \(\d+ more characters\)/);
    expect(out).toContain('### Skipped');
  });
});

describe('escapeMarkdown', () => {
  it('backslashes Markdown punctuation and the pipe, and turns & < > into entities', () => {
    expect(escapeMarkdown('a|b `c` *d* _e_ [f](g) ~h~ \\')).toBe(
      'a\\|b \\`c\\` \\*d\\* \\_e\\_ \\[f\\](g) \\~h\\~ \\\\',
    );
    expect(escapeMarkdown('<b>&amp;</b>')).toBe('&lt;b&gt;&amp;amp;&lt;/b&gt;');
    expect(escapeMarkdown('1\n2\r\n3')).toBe('1<br>2<br>3');
  });

  it('drops control characters and never splits a surrogate pair when it cuts', () => {
    expect(escapeMarkdown('a\u0000b\u001bc')).toBe('abc');
    expect(escapeMarkdown('ab😀', 3)).toBe('ab… (2 more characters)');
  });
});
