import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../harness/project-root.ts';
import { projectImage } from './helpers/image.ts';

// The package as a user gets it: packed from a copy of the project (so that its build, `prepare`, cannot
// touch the bundle other tests are running), installed into a prefix of its own, run from another folder.
const tmp = mkdtempSync(join(tmpdir(), 'nslab-package-'));
const prefix = join(tmp, 'prefix');
const installed = join(prefix, 'lib', 'node_modules', 'nslab');
const work = join(tmp, 'work');
const env = {
  XDG_CACHE_HOME: join(tmp, 'cache'),
  XDG_STATE_HOME: join(tmp, 'state'),
  npm_config_update_notifier: 'false',
};
const version = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')).version as string;
let files: string[] = [];

const nslab = (...args: string[]) =>
  execa(join(prefix, 'bin', 'nslab'), args, { cwd: work, env, reject: false });

beforeAll(async () => {
  const copy = join(tmp, 'src');
  const skip = new Set(['node_modules', 'dist', 'reports', 'vm-images', '.git', 'coverage']);
  cpSync(PROJECT_ROOT, copy, {
    recursive: true,
    filter: (src) => !skip.has(relative(PROJECT_ROOT, src).split(/[\\/]/)[0]!),
  });
  // The build needs esbuild: the project's own, as in a clone after npm install.
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(copy, 'node_modules'));
  const packed = await execa('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: copy, env });
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  files = info!.files.map((f) => f.path);
  // From npm's cache when it has them (CI's npm ci filled it), else from the registry.
  await execa(
    'npm',
    [
      'install',
      '--global',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      join(tmp, info!.filename),
    ],
    { env },
  );
  mkdirSync(work);
}, 240_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the npm package', () => {
  it('holds what users run, built: no test, benchmark, snapshot, CI script or TypeScript source', () => {
    expect(files).toEqual(
      expect.arrayContaining(['bin/nslab.mjs', 'dist/nslab.mjs', 'scenarios/pid-ns.yaml']),
    );
    expect(files).toEqual(
      expect.arrayContaining(['harness/scenario/probe.sh', 'harness/image/guest/init.sh']),
    );
    const unwanted = files.filter((f) =>
      /^(test|bench|\.ci|\.github|scripts)\/|\.test\.|\.snap$|__snapshots__|\.ts$/.test(f),
    );
    expect(unwanted).toEqual([]);
  });

  it('installs with its runtime dependencies, and runs the bundle (no tsx, no sources to fall back on)', () => {
    // ssh2 for the VM; the debian builder's OpenPGP, tar, xz and zstd readers.
    expect(readdirSync(join(installed, 'node_modules'))).toEqual(
      expect.arrayContaining(['ssh2', 'openpgp', 'tar', 'xz-decompress', 'fzstd']),
    );
    expect(existsSync(join(installed, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(installed, 'harness', 'cli', 'main.ts'))).toBe(false);
  });

  it('answers --version and list from any folder', async () => {
    expect((await nslab('--version')).stdout.trim()).toBe(version);
    const list = await nslab('list');
    expect(list.exitCode).toBe(0);
    expect(list.stdout).toMatch(/^pid-ns\s+A process in a new PID namespace$/m);
  });

  it('runs pid-ns with reports under the current folder, and caches images in the user’s cache folder', async () => {
    const r = await nslab('scenario', 'pid-ns', '--json');
    const report = JSON.parse(r.stdout) as {
      targets: { scenarios: { name: string; status: string; reason?: string }[] }[];
    };
    const [result] = report.targets[0]!.scenarios;
    const outcome = { name: result!.name, status: result!.status, reason: result!.reason, exit: r.exitCode };
    const passed = { name: 'pid-ns', status: 'pass', reason: undefined, exit: 0 };
    // Root runs it; another user may instead be told why not (a named skip, exit 0), never an error.
    const skipped = {
      name: 'pid-ns',
      status: 'skip',
      reason: expect.stringMatching(/^(needs-root|userns-disabled|apparmor-userns)$/),
      exit: 0,
    };
    expect(outcome).toEqual(process.getuid?.() === 0 ? passed : expect.toBeOneOf([passed, skipped]));
    expect(
      readdirSync(join(work, 'reports')).some((d) => existsSync(join(work, 'reports', d, 'report.html'))),
    ).toBe(true);
    // Nothing is written into the install.
    expect(readdirSync(installed).sort()).toEqual(
      [
        'README.md',
        'bin',
        'dist',
        'harness',
        'linuxkit-engine.yml',
        'linuxkit.yml',
        'node_modules',
        'package.json',
        'scenarios',
      ].sort(),
    );
    expect(files).toEqual(expect.arrayContaining(['harness/image/debian/archive-keys.asc']));
    const help = await nslab('image', 'ls', '--help');
    expect(help.stdout.replace(/\s+/g, '')).toContain(join(env.XDG_CACHE_HOME, 'nslab', 'vm-images'));
  });

  it("builds the image from the install: Debian's archive fetched and verified with the shipped keys", async () => {
    const r = await nslab('image', 'build', '--arch', 'x86_64', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const manifest = JSON.parse(r.stdout) as { digest: string; builder: string; dir: string };
    expect(manifest.builder).toBe('debian');
    expect(manifest.dir).toBe(join(env.XDG_CACHE_HOME, 'nslab', 'vm-images', manifest.digest));
    expect(r.stderr).toMatch(/debian: fetching the amd64 package indices/);
    // The same image as the clone builds: the install changes nothing of what goes into it.
    expect(manifest.digest).toBe((await projectImage('x86_64')).manifest.digest);
  }, 180_000);
});
