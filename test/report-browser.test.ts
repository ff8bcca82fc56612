import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectFile } from '../harness/project-root.ts';
import type { RunReport, TargetReport } from '../harness/report/types.ts';
import {
  COLUMN_OF,
  makeRealReports,
  makeStandIns,
  realInputSpecs,
  type RealInput,
} from './helpers/real-reports.ts';
import { validateReport } from './helpers/report-schema.ts';
import { findOnPath, skipNote } from './helpers/tools.ts';

// report.html as people open it: a real headless Chromium (Debian's, driven by playwright-core) loads the
// page `nslab report merge` wrote from disk. Its inputs are real runs of this machine, one per target it has
// (test/helpers/real-reports.ts), and the hand-made macOS and Windows stand-ins made from them for what
// cannot run here. Every expected cell is read from the inputs or from this machine, or written out.
const browserPath = findOnPath('chromium') ?? findOnPath('chromium-browser');
const BIN = projectFile('bin', 'nslab.mjs');
const ARTIFACTS = projectFile('reports', 'artifacts');
const HOSTILE = `<img src=x onerror="alert('img')"></script><script>alert('script')</script>`;
const AVAILABLE = realInputSpecs().filter((s) => !s.unavailable);
const NOT_HERE = realInputSpecs().filter((s) => s.unavailable);

let browser: Browser;
let dir: string;
/** In merge order, as `report merge` was given them. */
let inputs: { name: string; report: RunReport; file: string }[];
let real: RealInput[];
let file: string;
let unameA: string;

// `report merge` takes two or more: a VM run brings a stand-in with it.
const runs = browserPath && (AVAILABLE.length >= 2 || AVAILABLE.some((s) => s.target === 'vm'));

beforeAll(async () => {
  if (!runs) return;
  dir = mkdtempSync(join(tmpdir(), 'nslab-browser-'));
  unameA = (await execa('uname', ['-a'])).stdout;
  real = await makeRealReports(dir, AVAILABLE);
  const standIns = makeStandIns(dir, real);
  // A scenario whose command printed markup, planted in a copy of the first real run: it must stay text.
  const planted = structuredClone(real[0]!.report);
  const pidNs = planted.targets[0]!.scenarios.find((s) => s.name === 'pid-ns')!;
  pidNs.observations!.outside.run = { hostile: { output: HOSTILE, exit: 0 } };
  pidNs.detail = HOSTILE;
  const plantedFile = join(dir, 'planted.json');
  writeFileSync(plantedFile, JSON.stringify(planted));
  inputs = [{ name: real[0]!.name, report: planted, file: plantedFile }, ...real.slice(1), ...standIns];
  const r = await execa('node', [BIN, 'report', 'merge', ...inputs.map((i) => i.file), '-o', 'merged'], {
    reject: false,
    cwd: dir,
  });
  if (r.exitCode !== 0) throw new Error(`report merge: exit ${r.exitCode}\n${String(r.stderr)}`);
  file = String(r.stdout).trim();
  // Root cannot use Chromium's sandbox; elsewhere it stays on.
  browser = await chromium.launch({
    executablePath: browserPath,
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
}, 1_200_000); // one run per target, the VM ones booted under TCG
afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const only = (r: RunReport): TargetReport => r.targets[0]!;
const pidNsOf = (r: RunReport) => only(r).scenarios.find((s) => s.name === 'pid-ns')!;
const kernelLine = (k: { name: string; release: string; version: string; machine: string }) =>
  `${k.name} ${k.release} ${k.version} ${k.machine}`;
const HOST_KERNEL = { name: os.type(), release: os.release(), version: os.version(), machine: os.machine() };
const ISOLATED = 'isolated: the guest reaches nothing but its SSH forward (QEMU user network, restrict=on)';
const SOCKETS = 'Unix sockets in a folder only this user can open (mode 0700)';
const PSK =
  'TCP on 127.0.0.1, TLS with a pre-shared key made for this boot: other local users cannot use them';

const merging = `${AVAILABLE.map((s) => s.name).join(', ')}${
  AVAILABLE.some((s) => s.target === 'vm') ? ', darwin vm and win32 vm (hand-made: cannot run here)' : ''
}${NOT_HERE.length ? `; not merged: ${NOT_HERE.map((s) => `${s.name}: ${s.unavailable}`).join('; ')}` : ''}`;

describe.runIf(runs)(
  `report.html of a merge of real runs (${merging}) in headless Chromium${skipNote(
    runs,
    browserPath ? 'fewer than two inputs here' : 'no chromium on PATH',
  )}`,
  () => {
    it('its inputs validate against report.schema.json', () => {
      for (const i of inputs) {
        const ok = validateReport(i.report);
        expect(validateReport.errors ?? [], i.name).toEqual([]);
        expect(ok).toBe(true);
      }
    });

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

    it('the headline has a column per input, with the values each run recorded', async () => {
      const page = await browser.newPage();
      await page.goto(pathToFileURL(file).href);
      const headings = await page.locator('table.headline thead th').allTextContents();
      expect(headings.slice(1).map((h) => h.replace(/READY.*/, '').trim())).toEqual(
        inputs.map((i) => COLUMN_OF[i.name]!.column),
      );
      const row = async (label: string) =>
        page
          .locator('table.headline tr', { has: page.locator(`th:text-is("${label}")`) })
          .locator('td')
          .allTextContents();
      const isVm = inputs.map((i) => only(i.report).kind === 'vm');
      expect(await row('PID inside')).toEqual(inputs.map(() => '1'));
      expect(await row('PID as the host (or the VM) sees it')).toEqual(
        inputs.map((i) => String(pidNsOf(i.report).observations!.outside.pid)),
      );
      expect(await row('container: same kernel as the machine it runs on')).toEqual(inputs.map(() => 'yes'));
      // Natively the container's kernel is this machine's; in a VM it is the guest's, never macOS's or Windows'.
      expect(await row('container: same kernel as the real host (uname -s -r -v -m)')).toEqual(
        inputs.map((i) => {
          const inside = kernelLine(pidNsOf(i.report).observations!.inside.kernel!);
          return inside === kernelLine(only(i.report).host?.kernel ?? HOST_KERNEL) ? 'yes' : 'no';
        }),
      );
      expect(await row("the VM's process on the real host")).toEqual(
        inputs.map((i, n) => (isVm[n] ? `${only(i.report).host!.qemuPid} qemu` : '—')),
      );
      expect(await row('the VM: uname -a')).toEqual(
        inputs.map((i, n) => (isVm[n] ? only(i.report).uname : '— (no VM)')),
      );
      const hosts = await row('host OS and uname -a');
      for (const [n, i] of inputs.entries()) {
        const hostOs = only(i.report).host?.os ?? 'linux';
        if (hostOs === 'linux') {
          expect(hosts[n]!.startsWith('Linux')).toBe(true);
          expect(hosts[n]!.endsWith(unameA)).toBe(true);
        } else if (hostOs === 'darwin') expect(hosts[n]).toMatch(/^macOS \(Mac14,2\)Darwin .* arm64$/);
        else expect(hosts[n]).toBe('WindowsWindows_NT DESKTOP-NSLAB 10.0.26100 Windows 11 Pro x86_64');
      }
      expect(await row('guest network')).toEqual(inputs.map((_, n) => (isVm[n] ? ISOLATED : '—')));
      expect(await row('QEMU control')).toEqual(
        inputs.map((i, n) => (!isVm[n] ? '—' : only(i.report).host!.os === 'win32' ? PSK : SOCKETS)),
      );
      expect(await row('accelerator')).toEqual(
        inputs.map((i, n) =>
          !isVm[n]
            ? '—'
            : only(i.report).host!.os === 'darwin'
              ? 'hvfhvf is available (aarch64 guest on a aarch64 darwin host)'
              : only(i.report).host!.os === 'win32'
                ? 'whpxwhpx is available (x86_64 guest on a x86_64 win32 host)'
                : 'tcgasked for with --accel tcg',
        ),
      );
      expect(await row('runtime')).toEqual(
        inputs.map((i) => `${only(i.report).runtime!.name} (${only(i.report).runtime!.version})`),
      );
      expect(await row('scenarios')).toEqual(
        inputs.map(() => '2 passed, 0 failed, 0 skipped, 0 errorsfigures from pid-ns'),
      );
      // The x86_64 and the aarch64 guest, side by side.
      const guests = await row('the VM: uname -a');
      for (const arch of real.filter((r) => r.target === 'vm').map((r) => r.arch))
        expect(guests.filter((g) => g.endsWith(` ${arch} GNU/Linux`)).length).toBeGreaterThanOrEqual(1);
      // A PID chain and a timeline per target.
      expect(await page.locator('figure svg').count()).toBeGreaterThanOrEqual(2 * inputs.length);
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
