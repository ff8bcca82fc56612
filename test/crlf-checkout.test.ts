import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateLinuxkitText } from '../harness/image/validate.ts';
import { PROJECT_ROOT } from '../harness/project-root.ts';
import { parseScenarioText } from '../harness/scenario/load.ts';
import { findOnPath, skipNote } from './helpers/tools.ts';

// Git for Windows, and so GitHub's Windows runners, check text out with CRLF (core.autocrlf=true), and sh
// reads `then\r` as a word: every scenario would break on the target. Two defences, each tested here for
// real: .gitattributes keeps the scripts LF in such a checkout, and nslab strips CR from the scripts it
// reads, for a checkout or a package made without .gitattributes (an older clone, a copied folder).

/** Every file a shell or the kernel reads as it is on disk: .gitattributes must keep them LF. */
const SCRIPTS = ['harness/scenario/probe.sh', 'harness/targets/preflight.sh', 'harness/image/guest/init.sh'];
const VERBATIM = [...SCRIPTS, '.ci/run', '.ci/start-dockerd', 'bin/nslab.mjs'];

const git = findOnPath('git');
const isRoot = process.getuid?.() === 0;
const crlf = (text: string) => text.replace(/\r?\n/g, '\r\n');
const lfText = (path: string) => readFileSync(join(PROJECT_ROOT, path), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'nslab-crlf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(git)(`a clone made with core.autocrlf=true${skipNote(git, 'no git')}`, () => {
  it('real: a clone of HEAD checks out every .sh file, .ci/run and bin/nslab.mjs with LF, other text with CRLF', async () => {
    const clone = join(dir, 'clone');
    await execa('git', ['-c', 'core.autocrlf=true', 'clone', '--quiet', PROJECT_ROOT, clone]);
    const tracked = (await execa('git', ['ls-files'], { cwd: clone })).stdout.split('\n');
    const shells = tracked.filter((f) => f.endsWith('.sh'));
    expect(shells).toEqual(expect.arrayContaining(SCRIPTS));
    for (const file of new Set([...shells, ...VERBATIM]))
      expect(readFileSync(join(clone, file), 'utf8').includes('\r'), `${file} has CR`).toBe(false);
    // The control: the clone really is a Windows-style checkout; files not listed there get CRLF.
    expect(readFileSync(join(clone, 'README.md'), 'utf8')).toContain('\r\n');
  });
});

describe('nslab from a checkout whose scripts have CRLF (as one without .gitattributes has them)', () => {
  // The working tree's sources and data files, copied, with each script's line endings made CRLF.
  const copy = join(dir, 'crlf-copy');
  beforeAll(() => {
    for (const part of ['bin', 'harness', 'scenarios', 'package.json', 'linuxkit.yml', 'tsconfig.json'])
      cpSync(join(PROJECT_ROOT, part), join(copy, part), { recursive: true });
    symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(copy, 'node_modules'));
    for (const script of SCRIPTS) writeFileSync(join(copy, script), crlf(lfText(script)));
  });

  /** The three scripts as the copy's own nslab modules read them. */
  async function scriptsAsRead(): Promise<Record<string, string>> {
    const printer = join(copy, 'print-scripts.ts');
    writeFileSync(
      printer,
      [
        "import { guestInit } from './harness/image/initramfs.ts';",
        "import { PROBE_SCRIPT } from './harness/scenario/probe.ts';",
        "import { PREFLIGHT_SCRIPT } from './harness/targets/preflight.ts';",
        'process.stdout.write(JSON.stringify({',
        "  'harness/scenario/probe.sh': PROBE_SCRIPT,",
        "  'harness/targets/preflight.sh': PREFLIGHT_SCRIPT,",
        "  'harness/image/guest/init.sh': guestInit().toString('utf8'),",
        '}));',
      ].join('\n'),
    );
    return JSON.parse((await execa('node', ['--import', 'tsx', printer], { cwd: copy })).stdout);
  }

  it('real: the copy holds CRLF scripts, and sh -n rejects each of them as it is on disk', async () => {
    for (const script of SCRIPTS) {
      const onDisk = readFileSync(join(copy, script), 'utf8');
      expect(onDisk).toContain('\r\n');
      const r = await execa('sh', ['-n'], { input: onDisk, reject: false });
      expect(r.exitCode, script).not.toBe(0);
    }
  });

  it('real: probe.sh, preflight.sh and init.sh as nslab reads them from CRLF files are the LF scripts, and sh -n accepts each', async () => {
    const read = await scriptsAsRead();
    for (const script of SCRIPTS) {
      expect(read[script], script).toBe(lfText(script));
      const r = await execa('sh', ['-n'], { input: read[script], reject: false });
      expect([script, r.exitCode, r.stderr]).toEqual([script, 0, '']);
    }
  });

  it('real: the preflight read from its CRLF file runs in sh with the same output as the LF file', async () => {
    const read = await scriptsAsRead();
    const run = (text: string) =>
      execa('sh', ['-s', '--', 'unshare', 'nsenter'], { input: text, reject: false });
    const [fromCrlf, fromLf] = await Promise.all([
      run(read['harness/targets/preflight.sh']!),
      run(lfText('harness/targets/preflight.sh')),
    ]);
    expect(fromLf.stdout).toMatch(/^ns\.pid=pid:\[\d+\]$/m);
    expect([fromCrlf.exitCode, fromCrlf.stdout, fromCrlf.stderr]).toEqual([
      fromLf.exitCode,
      fromLf.stdout,
      fromLf.stderr,
    ]);
  });

  it.runIf(isRoot)(
    `real: pid-ns runs natively from the CRLF copy's CLI and passes, PID 1 inside${skipNote(isRoot, 'needs root')}`,
    async () => {
      const work = join(dir, 'run');
      mkdirSync(work);
      const r = await execa(
        'node',
        [
          join(copy, 'bin', 'nslab.mjs'),
          'scenario',
          'pid-ns',
          '--target',
          'native',
          '--json',
          '--report-dir',
          'out',
        ],
        { cwd: work, env: { NSLAB_RUNTIME_DIR: join(work, 'run') }, reject: false },
      );
      expect(r.exitCode, r.stderr).toBe(0);
      const target = JSON.parse(r.stdout).targets[0];
      expect(target).toMatchObject({ kind: 'native', status: 'ready' });
      expect(target.scenarios[0]).toMatchObject({ name: 'pid-ns', status: 'pass' });
      expect(target.scenarios[0].observations.inside.pid).toBe(1);
    },
  );
});

describe('YAML files (why .gitattributes need not list scenarios/ and linuxkit.yml)', () => {
  it('real: every shipped scenario, its multi-line `sh -c` commands included, and linuxkit.yml load the same from CRLF', () => {
    const scenarios = readdirSync(join(PROJECT_ROOT, 'scenarios')).filter((f) => f.endsWith('.yaml'));
    expect(scenarios.length).toBeGreaterThan(10);
    for (const name of scenarios) {
      const text = lfText(`scenarios/${name}`);
      expect(parseScenarioText(name, crlf(text)), name).toEqual(parseScenarioText(name, text));
    }
    // chroot-static's commands span lines: they reach sh with LF only.
    const chroot = parseScenarioText('chroot-static.yaml', crlf(lfText('scenarios/chroot-static.yaml')));
    const commands = JSON.stringify(chroot.observe);
    expect(commands).toContain('\\n');
    expect(commands).not.toContain('\\r');
    const config = lfText('linuxkit.yml');
    expect(validateLinuxkitText('linuxkit.yml', crlf(config)).config).toEqual(
      validateLinuxkitText('linuxkit.yml', config).config,
    );
  });
});
