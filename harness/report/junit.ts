import type { ExpectationResult } from '../scenario/expect.ts';
import type { ScenarioResult } from '../scenario/run.ts';
import type { RunReport } from './types.ts';
import type { TargetView } from './view.ts';
import { expectedText, show } from './expectation-text.ts';

// junit.xml for CI test reports (GitLab, dorny/test-reporter, mikepenz/action-junit-report): one testsuite
// per target, one testcase per scenario. Names, counts and properties come from report.view; each
// testcase's status is the scenario's own.

/** The most command output one testcase's <system-out> carries, in UTF-8 bytes. */
export const SYSTEM_OUT_CAP = 64 * 1024;
/** The most of one expected or actual value a <failure> text carries, in UTF-8 bytes. */
export const VALUE_CAP = 2 * 1024;

// XML 1.0 allows tab, LF, CR and U+0020..U+D7FF, U+E000..U+FFFD and paired surrogates; nothing else.
const INVALID_XML =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Removes the characters XML 1.0 does not allow at all (no escape can carry them). */
export const stripInvalidXml = (text: string): string => text.replace(INVALID_XML, '');

const TEXT_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};
// In attributes a parser turns raw tab, LF and CR into spaces; as character references they survive.
const ATTR_ESCAPES: Record<string, string> = { ...TEXT_ESCAPES, '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' };

/** Escapes text for XML element content: invalid characters removed, & < > " ' as entities. */
export const escapeXml = (value: unknown): string =>
  stripInvalidXml(String(value ?? '')).replace(/[&<>"']/g, (c) => TEXT_ESCAPES[c]!);

/** Escapes text for a double-quoted XML attribute value, keeping its tabs and line breaks. */
export const escapeXmlAttr = (value: unknown): string =>
  stripInvalidXml(String(value ?? '')).replace(/[&<>"'\t\n\r]/g, (c) => ATTR_ESCAPES[c]!);

/** Cuts text to at most `maxBytes` of UTF-8 on a character boundary; `cut` is how many bytes were left out. */
export function capUtf8(text: string, maxBytes: number): { text: string; cut: number } {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return { text, cut: 0 };
  let end = maxBytes;
  // Never end inside a multi-byte sequence: back up to the start of the character.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end -= 1;
  return { text: bytes.subarray(0, end).toString('utf8'), cut: bytes.length - end };
}

const capped = (text: string, maxBytes: number): string => {
  const { text: kept, cut } = capUtf8(text, maxBytes);
  return cut > 0 ? `${kept}\n… truncated (${cut} bytes)` : kept;
};

const seconds = (ms: number): string => (Math.max(0, ms) / 1000).toFixed(3);

/** The failed expectations, one block each: path, check, expected, actual, why. */
function failureText(s: ScenarioResult, failed: ExpectationResult[]): string {
  const blocks = failed.map((x) =>
    [
      `${x.that} ${x.op}`,
      `  expected: ${capped(expectedText(x), VALUE_CAP)}`,
      `  actual:   ${capped(show(x.actual), VALUE_CAP)}`,
      ...(x.why ? [`  why:      ${x.why}`] : []),
    ].join('\n'),
  );
  if (s.detail) blocks.push(capped(s.detail, VALUE_CAP));
  return blocks.join('\n\n');
}

/** The scenario's command outputs, outside then inside, capped to SYSTEM_OUT_CAP. */
function commandOutputs(s: ScenarioResult): string {
  const parts: string[] = [];
  for (const side of ['outside', 'inside'] as const) {
    for (const [name, r] of Object.entries(s.observations?.[side].run ?? {}))
      parts.push(`$ ${side}.run.${name} (exit ${r.exit})\n${r.output}`);
  }
  return parts.length > 0 ? capped(parts.join('\n'), SYSTEM_OUT_CAP) : '';
}

/** `<scenario>.<view key with / as .>`, e.g. `pid-ns.linux.native`: CI tools group testcases by it. */
export const classname = (scenario: string, key: string): string => `${scenario}.${key.replaceAll('/', '.')}`;

function testcase(s: ScenarioResult, v: TargetView): string {
  const open = `    <testcase name="${escapeXmlAttr(s.name)}" classname="${escapeXmlAttr(classname(s.name, v.key))}" time="${seconds(s.durationMs)}"`;
  const body: string[] = [];
  if (s.status === 'fail') {
    const all = s.expectations ?? [];
    const failed = all.filter((x) => !x.ok);
    const message =
      failed.length > 0 ? `${failed.length} of ${all.length} expectations failed` : (s.reason ?? 'failed');
    body.push(
      `      <failure message="${escapeXmlAttr(message)}" type="expectation">${escapeXml(failureText(s, failed))}</failure>`,
    );
  } else if (s.status === 'error') {
    const reason = s.reason ?? 'error';
    body.push(
      `      <error message="${escapeXmlAttr(reason)}" type="${escapeXmlAttr(reason)}">${escapeXml(capped(s.detail ?? '', SYSTEM_OUT_CAP))}</error>`,
    );
  } else if (s.status === 'skip') {
    const message = [s.reason, s.detail].filter(Boolean).join(': ');
    body.push(`      <skipped message="${escapeXmlAttr(message)}"/>`);
  }
  if (s.status === 'fail' || s.status === 'error') {
    const out = commandOutputs(s);
    if (out) body.push(`      <system-out>${escapeXml(out)}</system-out>`);
  }
  return body.length === 0 ? `${open}/>` : `${open}>\n${body.join('\n')}\n    </testcase>`;
}

function properties(v: TargetView): string {
  const props: [string, string | undefined][] = [
    ['target', v.key],
    ['kind', v.kind],
    ['status', v.status],
    ['reason', v.reason],
    ['host.os', v.host.os || undefined],
    ['runtime', v.runtime],
    ['accelerator', v.accelerator],
    ['accelerator.note', v.acceleratorNote],
    ['vm.boot', v.boot],
    ['vm.network', v.network],
    ['vm.control', v.control],
  ];
  const lines = props
    .filter((p): p is [string, string] => p[1] !== undefined && p[1] !== '')
    .map(
      ([name, value]) => `      <property name="${escapeXmlAttr(name)}" value="${escapeXmlAttr(value)}"/>`,
    );
  return `    <properties>\n${lines.join('\n')}\n    </properties>`;
}

/** The view column of a target: view.ts builds one per target, in the same order. */
function viewOf(report: RunReport, i: number): TargetView {
  const v = report.view.targets[i];
  if (!v)
    throw new Error(`report.view has no column for target ${i}: rebuild it with buildView(report.targets)`);
  return v;
}

/** The run as JUnit XML: a testsuite per target, a testcase per scenario. Pure. */
export function renderJunit(report: RunReport): string {
  const suites = report.targets.map((t, i) => ({ t, v: viewOf(report, i) }));
  const total = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  const xml = suites.map(({ t, v }) => {
    const c = v.counts;
    const tests = c.pass + c.fail + c.skip + c.error;
    total.tests += tests;
    total.failures += c.fail;
    total.errors += c.error;
    total.skipped += c.skip;
    // A suite's time is its scenarios' time; a VM's boot is in the root's time, the whole run.
    const time = seconds(t.scenarios.reduce((sum, s) => sum + s.durationMs, 0));
    const cases = t.scenarios.map((s) => testcase(s, v));
    return [
      `  <testsuite name="${escapeXmlAttr(`${v.column} — ${v.key}`)}" tests="${tests}" failures="${c.fail}" errors="${c.error}" skipped="${c.skip}" time="${time}">`,
      properties(v),
      ...cases,
      '  </testsuite>',
    ].join('\n');
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${escapeXmlAttr(`nslab ${report.runId}`)}" tests="${total.tests}" failures="${total.failures}" errors="${total.errors}" skipped="${total.skipped}" time="${seconds(report.durationMs)}">`,
    ...xml,
    '</testsuites>',
    '',
  ].join('\n');
}
