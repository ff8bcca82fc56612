import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { capUtf8, escapeXml, escapeXmlAttr, renderJunit, SYSTEM_OUT_CAP } from './junit.ts';
import type { RunReport, TargetReport } from './types.ts';
import type { ScenarioStatus } from '../scenario/run.ts';
import {
  HOSTILE,
  HOSTILE_OUTPUT,
  nativeTarget,
  reportFixture,
  reportOf,
  vmTarget,
} from '../../test/helpers/report-fixture.ts';

interface Attrs {
  [name: `@_${string}`]: string;
}
interface Child extends Attrs {
  '#text'?: string;
}
interface Case extends Attrs {
  failure?: Child;
  error?: Child;
  skipped?: Child;
  'system-out'?: string;
}
interface Suite extends Attrs {
  properties?: { property: Attrs[] };
  testcase?: Case[];
}

// htmlEntities: numeric character references (&#10;) are decoded as any conforming XML parser does.
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: false,
  htmlEntities: true,
  isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name),
});

/** Validates the XML with a real parser first, then parses it. */
function parse(xml: string): { root: Attrs; suites: Suite[] } {
  expect(XMLValidator.validate(xml)).toBe(true);
  const doc = parser.parse(xml) as { testsuites: Attrs & { testsuite?: Suite[] } };
  return { root: doc.testsuites, suites: doc.testsuites.testsuite ?? [] };
}

const count = (t: TargetReport, status: ScenarioStatus) =>
  t.scenarios.filter((s) => s.status === status).length;
const prop = (suite: Suite, name: string) =>
  suite.properties?.property.find((p) => p['@_name'] === name)?.['@_value'];
const caseOf = (suite: Suite, name: string) => suite.testcase!.find((c) => c['@_name'] === name)!;

// Characters XML 1.0 forbids outright, lone surrogates included.
const INVALID =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('renderJunit', () => {
  const report = reportFixture();
  const xml = renderJunit(report);

  it('starts with the XML declaration and a <testsuites> root', () => {
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')).toBe(true);
    expect(parse(xml).root['@_name']).toContain(report.runId);
  });

  it('counts tests, failures, errors and skips per suite and in total, as the testcases are', () => {
    const { root, suites } = parse(xml);
    expect(suites).toHaveLength(report.targets.length);
    const total = { tests: 0, failures: 0, errors: 0, skipped: 0 };
    report.targets.forEach((t, i) => {
      const suite = suites[i]!;
      const cases = suite.testcase ?? [];
      const expected = {
        tests: t.scenarios.length,
        failures: count(t, 'fail'),
        errors: count(t, 'error'),
        skipped: count(t, 'skip'),
      };
      expect(suite['@_tests']).toBe(String(expected.tests));
      expect(suite['@_failures']).toBe(String(expected.failures));
      expect(suite['@_errors']).toBe(String(expected.errors));
      expect(suite['@_skipped']).toBe(String(expected.skipped));
      // The attributes agree with the children a CI tool counts.
      expect(cases).toHaveLength(expected.tests);
      expect(cases.filter((c) => c.failure).length).toBe(expected.failures);
      expect(cases.filter((c) => c.error).length).toBe(expected.errors);
      expect(cases.filter((c) => c.skipped).length).toBe(expected.skipped);
      for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += expected[k];
    });
    // The fixture has every status on both targets, so a split that lumped two together would show.
    expect(total).toEqual({ tests: 8, failures: 2, errors: 2, skipped: 2 });
    expect(root['@_tests']).toBe(String(total.tests));
    expect(root['@_failures']).toBe(String(total.failures));
    expect(root['@_errors']).toBe(String(total.errors));
    expect(root['@_skipped']).toBe(String(total.skipped));
  });

  it('names each suite by its view column and key, with runtime and accelerator from the view', () => {
    const changed = structuredClone(report);
    changed.view.targets[0]!.column = 'column from the view';
    changed.view.targets[1]!.runtime = 'crun (from the view)';
    changed.view.targets[1]!.accelerator = 'hvf';
    const { suites } = parse(renderJunit(changed));
    expect(suites[0]!['@_name']).toContain('column from the view');
    expect(suites[0]!['@_name']).toContain('linux/native');
    expect(suites[1]!['@_name']).toContain(report.view.targets[1]!.column);
    expect(suites[1]!['@_name']).toContain('linux/vm');
    expect(prop(suites[1]!, 'runtime')).toBe('crun (from the view)');
    expect(prop(suites[1]!, 'accelerator')).toBe('hvf');
    expect(prop(suites[0]!, 'runtime')).toBe(report.view.targets[0]!.runtime);
    // Native has no accelerator: no property rather than an empty one.
    expect(prop(suites[0]!, 'accelerator')).toBeUndefined();
  });

  it('gives each testcase the scenario name and the classname <scenario>.<key with / as .>', () => {
    const { suites } = parse(xml);
    expect(caseOf(suites[0]!, 'pid-ns')['@_classname']).toBe('pid-ns.linux.native');
    expect(caseOf(suites[1]!, 'user-ns')['@_classname']).toBe('user-ns.linux.vm');
    // A merge that repeats a target suffixes its key; the classname follows the view.
    const merged = reportOf([nativeTarget(), nativeTarget()]);
    const second = parse(renderJunit(merged)).suites[1]!;
    expect(merged.view.targets[1]!.key).toBe('linux/native-2');
    expect(caseOf(second, 'pid-ns')['@_classname']).toBe('pid-ns.linux.native-2');
  });

  it('gives times in seconds with 3 decimals: each testcase its scenario, the root the whole run', () => {
    const { root, suites } = parse(xml);
    report.targets.forEach((t, i) => {
      for (const s of t.scenarios)
        expect(Number(caseOf(suites[i]!, s.name)['@_time'])).toBeCloseTo(s.durationMs / 1000, 3);
    });
    expect(caseOf(suites[0]!, 'markup')['@_time']).toBe('0.005');
    expect(caseOf(suites[1]!, 'markup')['@_time']).toBe('60.000');
    expect(Number(root['@_time'])).toBe(report.durationMs / 1000);
    for (const c of suites.flatMap((s) => s.testcase ?? [])) expect(c['@_time']).toMatch(/^\d+\.\d{3}$/);
  });

  it('a failure lists each failed expectation: path, check, expected, actual, why', () => {
    const { suites } = parse(xml);
    const failure = caseOf(suites[0]!, 'markup').failure!;
    const failed = report.targets[0]!.scenarios.find((s) => s.name === 'markup')!.expectations!;
    expect(failure['@_message']).toBe(`2 of ${failed.length} expectations failed`);
    expect(failure['@_type']).toBe('expectation');
    const text = failure['#text']!;
    expect(text).toContain('inside.run.say.output equals');
    expect(text).toContain('expected: hello');
    expect(text).toContain('the inside echoes what it was given');
    expect(text).toContain('inside.pid sameAs');
    expect(text).toContain('expected: outside.pid = 2390');
    // The expectation that held is not listed.
    expect(text).not.toContain('inside.pid equals');
  });

  it('an error carries the reason as message and type and the detail as text; a skip its reason', () => {
    const { suites } = parse(xml);
    const error = caseOf(suites[1]!, 'markup').error!;
    expect(error['@_message']).toBe('timeout');
    expect(error['@_type']).toBe('timeout');
    expect(error['#text']).toContain('did not finish within 60 s');
    const skipped = caseOf(suites[0]!, 'time-ns').skipped!;
    expect(skipped['@_message']).toBe('kernel-config:CONFIG_TIME_NS: this kernel has no time namespaces');
    expect(caseOf(suites[0]!, 'pid-ns')).not.toHaveProperty('failure');
  });

  it("puts failed and errored testcases' command outputs in <system-out>, and no one else's", () => {
    const { suites } = parse(xml);
    const out = caseOf(suites[0]!, 'markup')['system-out']!;
    expect(out).toContain('$ inside.run.say (exit 0)');
    expect(out).toContain('$ outside.run.ps (exit 0)');
    expect(caseOf(suites[1]!, 'user-ns')['system-out']).toContain('uid=0(root)');
    expect(caseOf(suites[0]!, 'pid-ns')).not.toHaveProperty('system-out');
    expect(caseOf(suites[0]!, 'time-ns')).not.toHaveProperty('system-out');
  });

  it('removes characters invalid in XML 1.0; the hostile strings survive as text, never as markup', () => {
    expect(HOSTILE_OUTPUT).toMatch(INVALID);
    expect(xml).not.toMatch(INVALID);
    expect(xml).not.toContain('<img');
    expect(xml).not.toContain('</script>');
    const { suites } = parse(xml);
    const c = caseOf(suites[0]!, 'markup');
    for (const text of [
      c['system-out']!,
      c.failure!['#text']!,
      caseOf(suites[0]!, 'probe-crash').error!['#text']!,
    ]) {
      for (const hostile of Object.values(HOSTILE)) expect(text).toContain(hostile);
      expect(text).not.toMatch(INVALID);
    }
    // The text around a removed character is kept: "a\0b" becomes "ab".
    expect(c['system-out']).toContain(`${HOSTILE.img} ab ${HOSTILE.cdataEnd}`);
    expect(caseOf(suites[1]!, 'time-ns').skipped!['@_message']).toContain(HOSTILE.img);
  });

  it('caps <system-out> at 64 KiB per testcase with a note of how many bytes were cut', () => {
    const big = structuredClone(report);
    const markup = big.targets[0]!.scenarios.find((s) => s.name === 'markup')!;
    // Two-byte characters: the cut must fall between characters, not inside one.
    const output = 'é'.repeat(100_000);
    markup.observations!.inside.run = { say: { output, exit: 0 } };
    markup.observations!.outside.run = {};
    const out = caseOf(parse(renderJunit(big)).suites[0]!, 'markup')['system-out']!;
    const match = /\n… truncated \((\d+) bytes\)$/.exec(out);
    expect(match).not.toBeNull();
    const kept = out.slice(0, match!.index);
    expect(Buffer.byteLength(kept)).toBeLessThanOrEqual(SYSTEM_OUT_CAP);
    expect(kept).not.toContain('\uFFFD');
    const whole = `$ inside.run.say (exit 0)\n${output}`;
    expect(Buffer.byteLength(kept) + Number(match![1])).toBe(Buffer.byteLength(whole));
    expect(whole.startsWith(kept)).toBe(true);
  });

  it('a target that was skipped or broke still yields its scenarios, with their skip or error status', () => {
    const skipped: TargetReport = {
      ...vmTarget(),
      status: 'skip',
      reason: 'tool-missing:qemu',
      scenarios: vmTarget().scenarios.map((s) => ({
        ...s,
        status: 'skip',
        reason: 'tool-missing:qemu',
        detail: 'no qemu',
      })),
    };
    const broken: TargetReport = {
      ...nativeTarget(),
      status: 'error',
      reason: 'prepare-failed',
      scenarios: nativeTarget().scenarios.map((s) => ({
        ...s,
        status: 'error',
        reason: 'target-error',
        detail: 'boom',
      })),
    };
    const r: RunReport = reportOf([broken, skipped]);
    const { root, suites } = parse(renderJunit(r));
    expect(suites[0]!['@_errors']).toBe(String(broken.scenarios.length));
    expect(suites[0]!.testcase!.every((c) => c.error?.['@_type'] === 'target-error')).toBe(true);
    expect(prop(suites[0]!, 'status')).toBe('error');
    expect(prop(suites[0]!, 'reason')).toBe('prepare-failed');
    expect(suites[1]!['@_skipped']).toBe(String(skipped.scenarios.length));
    expect(suites[1]!.testcase!.every((c) => c.skipped?.['@_message'] === 'tool-missing:qemu: no qemu')).toBe(
      true,
    );
    expect(root['@_tests']).toBe(String(broken.scenarios.length + skipped.scenarios.length));
  });
});

describe('XML escaping', () => {
  it('escapes the five specials in text and keeps line breaks in attributes as references', () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
    expect(escapeXmlAttr('a\nb\tc\rd')).toBe('a&#10;b&#9;c&#13;d');
    const doc = parser.parse(`<x m="${escapeXmlAttr('line 1\nline 2 & "3"')}"/>`) as { x: Attrs };
    expect(doc.x['@_m']).toBe('line 1\nline 2 & "3"');
  });

  it('removes lone surrogates and noncharacters but keeps paired surrogates, tab, LF and CR', () => {
    expect(escapeXml('a\uD800b\uDC00c\uFFFEd\uFFFFe\u0008f\u000Bg')).toBe('abcdefg');
    expect(escapeXml('😀\t\n\r')).toBe('😀\t\n\r');
  });

  it('cuts UTF-8 on a character boundary and says how many bytes were cut', () => {
    expect(capUtf8('€€€', 4)).toEqual({ text: '€', cut: 6 });
    expect(capUtf8('abc', 3)).toEqual({ text: 'abc', cut: 0 });
  });
});
