import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../harness/report/html.ts';
import { mergeReports } from '../harness/report/merge.ts';
import { readReport } from '../harness/report/read.ts';
import type { RunReport } from '../harness/report/types.ts';
import { projectFile } from '../harness/project-root.ts';
import { findOnPath, skipNote } from './helpers/tools.ts';

// report.html as people open it: a real headless Chromium (Debian's, driven by playwright-core) loads the
// page from disk. The report is fixed: the recorded Linux run (native and VM) merged with the macOS one.
const browserPath = findOnPath('chromium') ?? findOnPath('chromium-browser');
const ARTIFACTS = projectFile('reports', 'artifacts');
const HOSTILE = `<img src=x onerror="alert('img')"></script><script>alert('script')</script>`;

let browser: Browser;
let dir: string;
let report: RunReport;
let file: string;

beforeAll(async () => {
  if (!browserPath) return;
  dir = mkdtempSync(join(tmpdir(), 'nslab-browser-'));
  const fixtures = projectFile('test', 'fixtures', 'reports');
  const linux = await readReport(join(fixtures, 'linux.json'));
  const darwin = await readReport(join(fixtures, 'darwin.json'));
  // A scenario whose command printed markup: it must stay text.
  const pidNs = linux.targets[0]!.scenarios[0]!;
  pidNs.observations!.outside.run = { hostile: { output: HOSTILE, exit: 0 } };
  pidNs.detail = HOSTILE;
  report = mergeReports([linux, darwin], {
    runId: '20261128T000000Z-b0b0',
    host: linux.host,
    argv: ['report', 'merge'],
  });
  file = join(dir, 'report.html');
  writeFileSync(file, renderHtml(report));
  // Root cannot use Chromium's sandbox; elsewhere it stays on.
  browser = await chromium.launch({
    executablePath: browserPath,
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.runIf(browserPath)(
  `report.html in headless Chromium${skipNote(browserPath, 'no chromium on PATH')}`,
  () => {
    it('makes no request beyond itself, runs nothing, and keeps hostile output as text', async () => {
      const page = await browser.newPage();
      const requests: string[] = [];
      const dialogs: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      await page.waitForTimeout(300);
      expect(requests).toEqual([pathToFileURL(file).href]);
      expect(dialogs).toEqual([]);
      expect(await page.locator('img, script, iframe, object, embed').count()).toBe(0);
      // Folded away, but there, as text: the output and the error detail.
      const text = (await page.locator('body').textContent()) ?? '';
      expect(text).toContain(HOSTILE);
      await page.close();
    });

    it('the headline has a column per target, with the recorded values', async () => {
      const page = await browser.newPage();
      await page.goto(pathToFileURL(file).href);
      const headings = await page.locator('table.headline thead th').allTextContents();
      expect(headings.slice(1).map((h) => h.replace(/READY.*/, '').trim())).toEqual(
        report.view.targets.map((t) => t.column),
      );
      expect(headings.slice(1).map((h) => h.replace(/READY.*/, '').trim())).toEqual([
        'native Linux',
        'VM on Linux (tcg)',
        'VM on macOS (hvf)',
      ]);
      const row = async (label: string) =>
        page
          .locator('table.headline tr', { has: page.locator(`th:text-is("${label}")`) })
          .locator('td')
          .allTextContents();
      expect(await row('PID inside')).toEqual(['1', '1', '1']);
      expect(await row('PID as the host (or the VM) sees it')).toEqual(
        report.view.targets.map((t) => String(t.pidOutside)),
      );
      expect(await row('container: same kernel as the machine it runs on')).toEqual(['yes', 'yes', 'yes']);
      expect(await row('container: same kernel as the real host (uname -s -r -v -m)')).toEqual([
        'yes',
        'no',
        'no',
      ]);
      expect((await row("QEMU's PID on the real host")).slice(1)).toEqual(
        report.view.targets.slice(1).map((t) => String(t.qemuPid)),
      );
      const hostRow = await row('host OS and uname -a');
      expect(hostRow[2]).toMatch(/^macOS.*Darwin/);
      expect(await page.locator('figure svg').count()).toBeGreaterThanOrEqual(3);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'report-headline.png'), fullPage: true });
      await page.close();
    });

    it('reads with JavaScript off, on a phone, in dark mode, and prints', async () => {
      const context = await browser.newContext({
        javaScriptEnabled: false,
        viewport: { width: 390, height: 844 },
        colorScheme: 'dark',
      });
      const page = await context.newPage();
      await page.goto(pathToFileURL(file).href);
      await expect.poll(() => page.locator('table.headline').isVisible()).toBe(true);
      // The page itself does not scroll sideways: wide tables scroll in their own box.
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - window.innerWidth',
      );
      expect(overflow).toBeLessThanOrEqual(1);
      const background = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
      expect(background).toBe('rgb(20, 24, 29)');
      await page.screenshot({ path: join(ARTIFACTS, 'report-phone-dark.png') });
      const pdf = await page.pdf({ format: 'A4' });
      expect(pdf.subarray(0, 4).toString('latin1')).toBe('%PDF');
      await context.close();
    });
  },
);
