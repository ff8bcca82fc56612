import {
  mkdtempSync,
  readFileSync,
  readlinkSync,
  readdirSync,
  rmSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateReport } from '../../test/helpers/report-schema.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeHtml } from './escape.ts';
import { renderHtml } from './html.ts';
import { buildView } from './view.ts';
import { writeReport } from './write.ts';
import type { RunReport } from './types.ts';
import { runAll } from '../run/run.ts';
import { NativeTarget } from '../targets/index.ts';
import { loadScenarioDir } from '../scenario/load.ts';
import { skipNote } from '../../test/helpers/tools.ts';

const validate = validateReport;
// Whether the native target runs here at all (as root, through sudo -n, or rootless in a user namespace).
const nativeSkip = (await new NativeTarget().prepare()).skip;
const nativeRuns = nativeSkip === undefined;
const notNative = skipNote(nativeRuns, `the native target is skipped here: ${nativeSkip?.reason}`);
const XSS = '<script>alert(1)</script>';

let dir: string;
let real: RunReport;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-report-'));
  // A scenario whose inside prints markup, so that a real target value carries it into the report.
  mkdirSync(join(dir, 'scenarios'));
  writeFileSync(
    join(dir, 'scenarios', 'markup.yaml'),
    `name: markup\ntitle: markup\nquestion: q\nisolate: { namespaces: [pid] }\nobserve:\n  inside: [pid, uname, { name: say, run: [echo, '${XSS}'] }]\n  outside: [pid, uname]\nexpect:\n  - that: inside.run.say.output\n    equals: '${XSS}'\n`,
  );
  const scenarios = [
    ...(await loadScenarioDir(join(dir, 'scenarios'))),
    ...(await loadScenarioDir('scenarios')),
  ];
  real = await runAll({ scenarios, targets: [new NativeTarget()], argv: ['scenario', 'all'] });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('report.json', () => {
  it('a real run validates against report.schema.json', () => {
    const ok = validate(JSON.parse(JSON.stringify(real)));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it.runIf(nativeRuns)(`holds the pid-ns observations the schema promises${notNative}`, () => {
    const pidNs = real.targets[0]?.scenarios.find((s) => s.name === 'pid-ns');
    expect(pidNs?.status).toBe('pass');
    expect(pidNs?.observations?.inside.pid).toBe(1);
    expect(pidNs?.observations?.outside.nspid?.[0]).toBe(pidNs?.observations?.outside.pid);
    expect(pidNs?.observations?.inside.uname).toBe(pidNs?.observations?.outside.uname);
  });

  it('the schema rejects a report missing a required field', () => {
    const broken = JSON.parse(JSON.stringify(real));
    delete broken.targets[0].scenarios[0].status;
    expect(validate(broken)).toBe(false);
  });
});

describe('writeReport', () => {
  it('writes report.json and report.html under the run id and points latest at it', async () => {
    const out = join(dir, 'reports');
    const written = await writeReport(real, out);
    expect(JSON.parse(readFileSync(written.json, 'utf8')).runId).toBe(real.runId);
    expect(readFileSync(written.html, 'utf8')).toContain('<!doctype html>');
    expect(readlinkSync(join(out, 'latest'))).toBe(real.runId);
    // No temporary files left behind.
    expect(readdirSync(written.dir).sort()).toEqual([
      'junit.xml',
      'report.html',
      'report.json',
      'summary.md',
    ]);
    const second = { ...real, runId: '20990101T000000Z-0000' };
    await writeReport(second, out);
    expect(readlinkSync(join(out, 'latest'))).toBe(second.runId);
    expect(readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([]);
  });
});

describe('HTML escaping', () => {
  it('escapes the five HTML specials', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it.runIf(nativeRuns)(
    `a target value containing <script> appears as text, never as markup${notNative}`,
    () => {
      const html = renderHtml(real);
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(html).not.toContain(XSS);
    },
  );

  it('a hostile uname from a target is escaped in the first-screen comparison', () => {
    const hostile = structuredClone(real);
    const t = hostile.targets[0]!;
    t.uname = XSS;
    const s = t.scenarios.find((x) => x.name === 'pid-ns')!;
    s.status = 'pass';
    s.observations = {
      inside: {
        pid: 1,
        uname: `Linux ${XSS}`,
        kernel: { name: 'Linux', release: XSS, version: '#1', machine: 'x86_64' },
      },
      outside: {
        pid: 2387,
        uname: `Linux "quoted" & ${XSS}`,
        kernel: { name: 'Linux', release: XSS, version: '#1', machine: 'x86_64' },
      },
    };
    hostile.view = buildView(hostile.targets);
    const html = renderHtml(hostile);
    expect(html).not.toContain(XSS);
    // In the headline: the host's uname and the container's, as text.
    const headline = html.slice(html.indexOf('<table class="headline">'), html.indexOf('</table>'));
    expect(headline).toContain(`<code>${escapeHtml(XSS)}</code>`);
    expect(headline).toContain(`<code>Linux ${escapeHtml(XSS)}</code>`);
    expect(html).toContain('Linux \\&quot;quoted\\&quot; &amp; &lt;script&gt;');
    // Self-contained: no external resource of any kind, and no script at all.
    expect(html).not.toMatch(/<(link|img|iframe)\b|\bsrc=|https?:\/\//i);
    expect(html).not.toMatch(/<script\b/i);
  });

  it('shows the comparison first: host and container uname, PID inside and outside, same kernel', () => {
    const html = renderHtml(real);
    const main = html.slice(html.indexOf('<main>'), html.indexOf('<h2>Scenarios</h2>'));
    expect(main).toContain('<table class="headline">');
    expect(main).toContain('container: uname -a');
    if (nativeRuns) {
      expect(main).toContain('PID as the host (or the VM) sees it');
      expect(main).toMatch(/container: same kernel as the machine it runs on<\/th><td><span class="yes">yes/);
      expect(main).toMatch(/PID inside<\/th><td><code>1<\/code><\/td>/);
    }
  });
});
