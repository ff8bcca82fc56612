import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../harness/project-root.ts';
import {
  checkKeys,
  hashFiles,
  jobContexts,
  runJob,
  shellArgv,
  shouldRun,
  statusFunctions,
  substitute,
  substituteMap,
  uploadSet,
  type Contexts,
  type Job,
  type JobState,
  type Step,
  type Value,
  type Workflow,
} from './helpers/actions-runner.ts';
import { qemuProcessesWith } from './helpers/image.ts';
import { findOnPath, skipNote } from './helpers/tools.ts';

// The Linux row of the scenarios job in .github/workflows/scenarios.yml, run here step by step as GitHub's
// runner would run it, after the images job it needs, with the artifact that job uploads: every `run:`
// step for real (its shell, its environment, in a fresh checkout of HEAD), the `uses:` steps stood in for
// (each stand-in says what it did). A step that fails here would fail on the runner. Then the merge job's
// Merge step takes this job's artifact, as it takes every host's.
const FILE = '.github/workflows/scenarios.yml';
const git = findOnPath('git');
const sha = git
  ? execFileSync(git, ['-C', PROJECT_ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim()
  : '';
// What actions/checkout would check out: the committed workflow, not the working tree's.
const workflow = parse(
  sha
    ? execFileSync(git!, ['-C', PROJECT_ROOT, 'show', `${sha}:${FILE}`], { encoding: 'utf8' })
    : readFileSync(join(PROJECT_ROOT, FILE), 'utf8'),
) as Workflow;
checkKeys(workflow);

/** The matrix job whose runs-on, for one entry, is a Linux (ubuntu-*) runner: that entry. */
const linux = Object.entries(workflow.jobs).flatMap(([id, job]) =>
  (job.strategy?.matrix.include ?? [])
    .map((m) => ({ id, matrix: m as Record<string, Value> }))
    .filter(({ matrix }) =>
      /^ubuntu-/.test(String(substitute(job['runs-on'], { values: { matrix }, functions: {} }))),
    ),
);
if (linux.length !== 1) throw new Error(`${FILE}: ${linux.length} Linux matrix entries; this test runs one`);
const LINUX = linux[0]!;
const linuxJob = workflow.jobs[LINUX.id]!;
const action = (s: Step) => s.uses?.split('@')[0];
const downloadName = linuxJob.steps.find((s) => action(s) === 'actions/download-artifact')?.with?.name;
/** The job this one needs that uploads the artifact it downloads. */
const imagesId = [linuxJob.needs ?? []]
  .flat()
  .find((n) =>
    workflow.jobs[n]?.steps.some(
      (s) => action(s) === 'actions/upload-artifact' && s.with?.name === downloadName,
    ),
  );
if (!imagesId) throw new Error(`${FILE}: no job that ${LINUX.id} needs uploads "${downloadName}"`);
const imagesJob = workflow.jobs[imagesId]!;
/** The job that downloads the reports of every scenarios job (report-*). */
const mergeId = Object.keys(workflow.jobs).find((id) =>
  [workflow.jobs[id]!.needs ?? []].flat().includes(LINUX.id),
);

const nodeWanted = String(
  linuxJob.steps.find((s) => action(s) === 'actions/setup-node')?.with?.['node-version'] ?? '',
);
const root = process.getuid?.() === 0;
const sudo = findOnPath('sudo');
const why =
  process.platform !== 'linux'
    ? 'not Linux'
    : process.arch !== 'x64'
      ? `the Linux runner is x86_64, this host is ${process.arch}`
      : !git
        ? 'git is not on PATH'
        : !findOnPath('bash')
          ? 'bash is not on PATH'
          : !findOnPath('qemu-system-x86_64')
            ? 'qemu-system-x86_64 is not on PATH'
            : !root && !(sudo && spawnSync(sudo, ['-n', 'true']).status === 0)
              ? "neither root nor password-less sudo, which the runner's user has"
              : process.versions.node.split('.')[0] !== nodeWanted
                ? `Node ${process.versions.node} here, the workflow sets up Node ${nodeWanted}`
                : undefined;
const docker = spawnSync('docker', ['version', '--format', '{{.Server.Version}}']).status === 0;

/** The runners' folders, one per job, and the artifact store (artifacts/NAME/...); made in beforeAll. */
let tmp = '';
let artifacts = '';
const log = (line: string) => process.stdout.write(`${line}\n`);
const jobs: Record<string, JobState> = {};

/**
 * The machine's environment as a runner's would be: nothing of this test run's (vitest, npm run, nslab's
 * test switches, a GitHub or CI variable of the shell it was started from), PATH without node_modules/.bin,
 * a HOME and a runtime folder of the job's own (a fresh runner: nslab remembers nothing, finds no VM), and
 * what the runner sets itself.
 */
function runnerEnv(id: string, dir: string, workspace: string, runnerTemp: string, bin: string) {
  const drop =
    /^(npm_|VITEST|__VITEST|TINYPOOL|NODE_ENV$|NODE_OPTIONS$|NODE_PATH$|INIT_CWD$|TSX|NSLAB_|GITHUB_|RUNNER_|ACTIONS_|CI$|FORCE_COLOR$|NO_COLOR$|XDG_(CONFIG|CACHE|STATE|DATA)_HOME$|XDG_RUNTIME_DIR$|HOME$)/;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !drop.test(k)) env[k] = v;
  const path = (process.env.PATH ?? '').split(delimiter).filter((p) => p && !p.includes('node_modules'));
  return {
    ...env,
    PATH: [bin, ...path].join(delimiter),
    HOME: join(dir, 'home'),
    // The runner's user has a runtime folder of its own (/run/user/UID); nslab keeps its VMs' folders there.
    // Not this machine's: another nslab's VMs (other tests, other checkouts) are not this runner's.
    XDG_RUNTIME_DIR: join(dir, 'run'),
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKFLOW: workflow.name ?? FILE,
    GITHUB_JOB: id,
    GITHUB_WORKSPACE: workspace,
    GITHUB_SHA: sha,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REF_NAME: 'main',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_RUN_ID: '1',
    GITHUB_RUN_ATTEMPT: '1',
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_TEMP: runnerTemp,
    RUNNER_ENVIRONMENT: 'github-hosted',
  };
}

/**
 * `sudo` as the runner's: password-less, running what it is given, except udev's commands, which are
 * recorded and not run: changing /dev/kvm's mode would change it for every user of this machine (which may
 * have no udev at all); the runner has both.
 */
function standInSudo(bin: string, record: string) {
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, 'sudo'),
    `#!/bin/sh
printf '%s\\n' "$*" >> '${record}'
# Options that change nothing here (password-less, as root) are dropped; any other is not implemented.
while :; do
  case "$1" in
    -n|-E|-H|--preserve-env) shift ;;
    --) shift; break ;;
    -*) echo "stand-in sudo: $1 is not implemented" >&2; exit 1 ;;
    *) break ;;
  esac
done
case "$1" in
  udevadm) exit 0 ;;
  tee) case "$2" in /etc/udev/*) exec tee -a '${record}.stdin' ;; esac ;;
esac
${root ? 'exec "$@"' : `exec '${sudo}' -n "$@"`}
`,
  );
  chmodSync(join(bin, 'sudo'), 0o755);
}

/** The inputs a stand-in implements: any other is a behaviour it would ignore, so it throws. */
function inputs(step: Step, given: Record<string, string>, known: string[]) {
  const extra = Object.keys(given).filter((k) => !known.includes(k));
  if (extra.length > 0) throw new Error(`${step.uses}: input ${extra.join(', ')} has no stand-in here`);
  return given;
}

/** Copies what upload-artifact would take into the artifact store; the stand-in for download-artifact reads it. */
function upload(job: JobState, step: Step, w: Record<string, string>) {
  const name = w.name || 'artifact';
  const set = uploadSet(job.workspace, w.path ?? '', w['include-hidden-files'] === 'true');
  // What the job promises the jobs after it: every path it names is there, and holds something.
  const missing = set.perPattern.filter((p) => p.files.length === 0).map((p) => p.line);
  if (missing.length > 0) throw new Error(`upload ${name}: nothing matches ${missing.join(', ')}`);
  const empty = set.files.filter((f) => statSync(f).size === 0);
  if (empty.length > 0) throw new Error(`upload ${name}: empty files ${empty.join(', ')}`);
  const dir = join(artifacts, name);
  if (existsSync(dir))
    throw new Error(`upload ${name}: an artifact of that name is already uploaded (v4 fails)`);
  for (const f of set.files) {
    mkdirSync(dirname(join(dir, set.relative(f))), { recursive: true });
    cpSync(f, join(dir, set.relative(f)), { dereference: true });
  }
  const mb = set.files.reduce((n, f) => n + statSync(f).size, 0) / 1e6;
  return `actions/upload-artifact: ${set.files.length} files (${mb.toFixed(1)} MB) as "${name}", paths relative to ${relative(job.workspace, set.root) || '.'}/`;
}

/** Extracts artifacts as download-artifact does: one by name into `path`, several each into path/NAME. */
function download(job: JobState, w: Record<string, string>) {
  const names = w.name
    ? [w.name]
    : readdirSync(artifacts).filter((n) =>
        new RegExp(`^${(w.pattern ?? '*').replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(
          n,
        ),
      );
  if (names.length === 0 || !names.every((n) => existsSync(join(artifacts, n))))
    throw new Error(`download: no artifact ${w.name ?? w.pattern} was uploaded`);
  for (const n of names) {
    const to = join(job.workspace, w.path ?? '.', w.name || w['merge-multiple'] === 'true' ? '' : n);
    // Zip entries keep no modes: each file comes out as any new file does.
    for (const f of readdirSync(join(artifacts, n), { recursive: true, encoding: 'utf8' })) {
      if (statSync(join(artifacts, n, f)).isDirectory()) continue;
      mkdirSync(dirname(join(to, f)), { recursive: true });
      cpSync(join(artifacts, n, f), join(to, f));
      chmodSync(join(to, f), 0o644);
    }
  }
  return `actions/download-artifact: ${names.join(', ')} into ${w.path ?? '.'}/`;
}

/** The stand-in for each action a job uses; an action without one fails the step, naming it. */
function usesStandIn(extra: { nodeModulesFrom?: string } = {}) {
  return async (step: Step, w: Record<string, string>, job: JobState): Promise<string> => {
    const [name, version] = step.uses!.split('@');
    switch (name) {
      case 'actions/checkout': {
        inputs(step, w, []);
        execFileSync(git!, ['clone', '--quiet', PROJECT_ROOT, job.workspace]);
        execFileSync(git!, ['-C', job.workspace, 'checkout', '--quiet', '--detach', sha]);
        if (extra.nodeModulesFrom)
          symlinkSync(join(extra.nodeModulesFrom, 'node_modules'), join(job.workspace, 'node_modules'));
        return `actions/checkout: git clone of ${PROJECT_ROOT} at ${sha.slice(0, 12)} (HEAD)${extra.nodeModulesFrom ? ', node_modules linked from the scenarios job (the same lockfile)' : ''}`;
      }
      case 'actions/setup-node': {
        inputs(step, w, ['node-version', 'cache']);
        if (process.versions.node.split('.')[0] !== w['node-version'])
          throw new Error(`setup-node: Node ${process.versions.node} here, ${w['node-version']} wanted`);
        if (w.cache && w.cache !== 'npm') throw new Error(`setup-node: cache ${w.cache} has no stand-in`);
        // cache: npm restores npm's cache folder: this machine's stands in for it.
        const cache = execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).trim();
        if (w.cache) job.env.npm_config_cache = cache;
        return `actions/setup-node: this machine's Node ${process.version}${w.cache ? `, npm's cache ${cache}` : ''}`;
      }
      case 'actions/cache': {
        inputs(step, w, ['path', 'key']);
        if (w.path !== 'vm-images') throw new Error(`actions/cache: no stand-in for caching ${w.path}`);
        const packages = join(PROJECT_ROOT, 'vm-images', 'debian');
        if (existsSync(packages))
          cpSync(packages, join(job.workspace, 'vm-images', 'debian'), { recursive: true });
        return `actions/cache (key ${w.key}): ${existsSync(packages) ? `only the Debian packages restored, from ${packages}: the images are built as on a cache miss, without fetching the packages again` : 'a miss'}; nothing saved`;
      }
      case 'actions/upload-artifact':
        if (version !== 'v4') throw new Error(`${step.uses}: only v4's rules are implemented here`);
        inputs(step, w, ['name', 'path', 'retention-days', 'if-no-files-found', 'include-hidden-files']);
        return upload(job, step, w);
      case 'actions/download-artifact':
        if (version !== 'v4') throw new Error(`${step.uses}: only v4's rules are implemented here`);
        return download(job, inputs(step, w, ['name', 'pattern', 'path', 'merge-multiple']));
      default:
        throw new Error(`${step.uses}: no stand-in for this action here`);
    }
  };
}

async function run(
  id: string,
  matrix: Record<string, Value> | undefined,
  o: Parameters<typeof usesStandIn>[0] = {},
  skip?: (s: Step) => string | undefined,
) {
  const dir = join(tmp, id);
  const workspace = join(dir, 'work', 'nslab', 'nslab');
  const runnerTemp = join(dir, 'temp');
  const bin = join(dir, 'bin');
  for (const d of [workspace, runnerTemp, join(dir, 'home')]) mkdirSync(d, { recursive: true });
  mkdirSync(join(dir, 'run'), { mode: 0o700 });
  standInSudo(bin, join(dir, 'sudo.log'));
  const job = await runJob(
    {
      workflow,
      id,
      matrix,
      workspace,
      runnerTemp,
      env: runnerEnv(id, dir, workspace, runnerTemp, bin),
      uses: usesStandIn(o),
      skip,
      log,
    },
    sha,
  );
  // Each run: step's output, as the runner's log has it.
  mkdirSync(join(dir, 'logs'));
  for (const r of job.records.filter((x) => x.run))
    writeFileSync(join(dir, 'logs', `${r.index}.log`), `$ ${r.run!.argv.join(' ')}\n${r.run!.output}\n`);
  jobs[id] = job;
}

const record = (id: string, index: number) => jobs[id]?.records[index];
const stepIds = (job: typeof linuxJob) =>
  job.steps.map((s, i) => [i, s.name ?? s.uses ?? s.run!.trim().split('\n')[0]!] as const);
const ws = (id: string) => jobs[id]!.workspace;
/** The run folders a `--report-dir` got (not its `latest` link). */
const runs = (dir: string) =>
  readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'report.json')))
    .map((e) => join(dir, e.name));
type Report = {
  runId: string;
  argv: string[];
  targets: {
    kind: string;
    host?: { image?: { digest: string } };
    scenarios: { name: string; status: string; reason?: string }[];
  }[];
};
const json = <T>(file: string) => JSON.parse(readFileSync(file, 'utf8')) as T;
const scenarioNames = (id: string) =>
  readdirSync(join(ws(id), 'scenarios'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.replace(/\.yaml$/, ''))
    .sort();
const stepNamed = (id: string, re: RegExp) => jobs[id]!.records.find((r) => re.test(r.step.run ?? ''))!;

describe.runIf(!why)(`the Linux scenarios job, run here step by step${skipNote(!why, why!)}`, () => {
  beforeAll(
    async () => {
      tmp = mkdtempSync(join(tmpdir(), 'nslab-linux-job-'));
      artifacts = join(tmp, 'artifacts');
      mkdirSync(artifacts);
      log(`${FILE} at ${sha.slice(0, 12)}, in ${tmp}`);
      if (execFileSync(git!, ['-C', PROJECT_ROOT, 'status', '--porcelain'], { encoding: 'utf8' }).trim())
        log('(the working tree has uncommitted changes: they are not in the checkout, as on GitHub)');
      if (!docker)
        log('no Docker daemon answers here (.ci/run starts one): the Docker step can only skip, by name');
      await run(imagesId, undefined);
      if (!jobs[imagesId]!.failed) await run(LINUX.id, LINUX.matrix);
      // The merge job on this artifact alone; its npm ci is the scenarios job's (the same lockfile, installed once).
      if (mergeId && jobs[LINUX.id] && !jobs[LINUX.id]!.failed)
        await run(mergeId, undefined, { nodeModulesFrom: ws(LINUX.id) }, (s) =>
          /^npm ci\b/.test(s.run ?? '') ? 'node_modules is linked from the scenarios job' : undefined,
        );
    },
    // The jobs' own limits (the runner's), and a few minutes for the stand-ins.
    ([imagesJob, mergeId ? workflow.jobs[mergeId]! : undefined].reduce(
      (n, j) => n + Number(j?.['timeout-minutes'] ?? 0),
      Number(LINUX.matrix.timeout),
    ) +
      5) *
      60_000,
  );
  afterAll(() => {
    if (!tmp) return;
    if (Object.values(jobs).every((j) => !j.failed)) rmSync(tmp, { recursive: true, force: true });
    else log(`kept for a look: ${tmp}`);
  });

  it.each(stepIds(imagesJob))(`${imagesId} job, step %i: %s`, (i) => {
    const r = record(imagesId, i);
    expect(r, 'the job did not get this far').toBeDefined();
    expect(r!.error ?? '', r!.run?.output.slice(-4000)).toBe('');
    expect(r!.ran, r!.skippedBecause).toBe(true);
  });

  it.each(stepIds(linuxJob))(`${LINUX.id} (${LINUX.matrix.name}) job, step %i: %s`, (i) => {
    const r = record(LINUX.id, i);
    expect(r, 'the job did not get this far').toBeDefined();
    expect(r!.error ?? '', r!.run?.output.slice(-4000)).toBe('');
    // Steps for other hosts only are skipped by their if:, never a Linux one.
    if (!r!.ran) expect(r!.skippedBecause).toMatch(/^if: /);
    else expect(r!.standIn ?? r!.run?.argv.join(' ')).toBeTruthy();
  });

  it('runs each run: step with the shell GitHub gives it: bash -e, or bash --noprofile --norc -e -o pipefail for shell: bash', () => {
    for (const r of [...jobs[imagesId]!.records, ...jobs[LINUX.id]!.records].filter((x) => x.run)) {
      const [shell, ...args] = r.run!.argv;
      expect(shell).toMatch(/\/bash$/);
      expect(args.slice(0, -1)).toEqual(
        r.step.shell === 'bash' ? ['--noprofile', '--norc', '-e', '-o', 'pipefail'] : ['-e'],
      );
    }
  });

  it('uploads both images from the images job, as its build step named them, and boots the x86_64 one', () => {
    const build = stepNamed(imagesId, /image build/);
    const built = Object.fromEntries(
      [...build.run!.output.matchAll(/^(x86_64|aarch64): ([0-9a-f]{32})$/gm)].map((m) => [m[1], m[2]]),
    );
    expect(Object.keys(built).sort()).toEqual(['aarch64', 'x86_64']);
    for (const [arch, digest] of Object.entries(built)) {
      const dir = join(ws(LINUX.id), 'images', arch);
      expect(json<{ digest: string; arch: string }>(join(dir, 'manifest.json'))).toMatchObject({
        digest,
        arch,
      });
      for (const f of ['nslab-kernel', 'nslab-initrd.img', 'nslab-cmdline'])
        expect(statSync(join(dir, f)).size).toBeGreaterThan(0);
    }
    // upload-artifact leaves hidden files out (.verified, the cache's stamp): the image must not need them.
    expect(readdirSync(join(artifacts, 'images', 'x86_64')).filter((f) => f.startsWith('.'))).toEqual([]);
    const [report] = runs(join(ws(LINUX.id), 'reports')).map((d) => json<Report>(join(d, 'report.json')));
    expect(report!.targets.find((t) => t.kind === 'vm')?.host?.image?.digest).toBe(
      built[String(LINUX.matrix.arch)],
    );
  });

  it("opens /dev/kvm through sudo with the udev rule (udev's commands recorded here, not run)", () => {
    const sudoLog = join(tmp, LINUX.id, 'sudo.log');
    // Everything that went through sudo; setup's `sudo -n true` probe comes through it too.
    const lines = readFileSync(sudoLog, 'utf8')
      .trim()
      .split('\n')
      .filter((l) => /udev/.test(l));
    expect(lines).toEqual([
      expect.stringMatching(/^tee \/etc\/udev\/rules\.d\/\S+\.rules$/),
      'udevadm control --reload-rules',
      'udevadm trigger --name-match=kvm',
    ]);
    expect(readFileSync(`${sudoLog}.stdin`, 'utf8')).toMatch(/^KERNEL=="kvm", GROUP="kvm", MODE="0666"/);
  });

  it('writes reports that follow the schema, in which every scenario passes natively and in the VM', () => {
    const dirs = runs(join(ws(LINUX.id), 'reports'));
    expect(dirs).toHaveLength(1);
    const schema = json<object>(join(ws(LINUX.id), 'harness', 'report', 'report.schema.json'));
    const validate = new Ajv2020({
      allErrors: true,
      strict: true,
      allowUnionTypes: true,
      validateFormats: false,
    }).compile(schema);
    const report = json<Report>(join(dirs[0]!, 'report.json'));
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    expect(report.argv).toEqual(expect.arrayContaining(['--image', `images/${LINUX.matrix.arch}`]));
    expect(report.targets.map((t) => t.kind)).toEqual(
      String(LINUX.matrix.target) === 'all' ? ['native', 'vm'] : [LINUX.matrix.target],
    );
    for (const t of report.targets) {
      expect(t.scenarios.map((s) => s.name).sort()).toEqual(scenarioNames(LINUX.id));
      expect(
        t.scenarios
          .filter((s) => s.status !== 'pass')
          .map((s) => `${t.kind}/${s.name}: ${s.status} ${s.reason ?? ''}`),
      ).toEqual([]);
    }
    const withDocker = json<Report>(join(runs(join(ws(LINUX.id), 'reports-docker'))[0]!, 'report.json'));
    expect(validate(withDocker), JSON.stringify(validate.errors)).toBe(true);
  });

  it.runIf(docker)(
    `runs Docker's runtime: each scenario written for it passes${skipNote(docker, 'no Docker daemon answers here (.ci/run starts one)')}`,
    () => {
      const [report] = runs(join(ws(LINUX.id), 'reports-docker')).map((d) =>
        json<Report>(join(d, 'report.json')),
      );
      const s = report!.targets[0]!.scenarios;
      expect(s.filter((x) => x.status !== 'pass' && x.reason !== 'not-for-runtime:docker')).toEqual([]);
      expect(s.some((x) => x.status === 'pass')).toBe(true);
    },
  );

  it.runIf(!docker)(
    `runs Docker's runtime without a daemon: every scenario skips, by name${skipNote(!docker, 'a Docker daemon answers here')}`,
    () => {
      const [report] = runs(join(ws(LINUX.id), 'reports-docker')).map((d) =>
        json<Report>(join(d, 'report.json')),
      );
      const reasons = new Set(report!.targets[0]!.scenarios.map((x) => `${x.status} ${x.reason}`));
      expect([...reasons].sort()).toEqual(['skip not-for-runtime:docker', 'skip runtime-unavailable:docker']);
    },
  );

  it('leaves no QEMU running and no VM folder behind when the job ends', async () => {
    const run = join(tmp, LINUX.id, 'run');
    expect(await qemuProcessesWith(run)).toEqual([]);
    const folders = existsSync(run) ? readdirSync(run, { recursive: true, encoding: 'utf8' }) : [];
    expect(folders.filter((f) => /(^|\/)vm-/.test(f))).toEqual([]);
  });

  it("puts each run's summary in the step summary (GITHUB_STEP_SUMMARY), under GitHub's 1 MiB", () => {
    for (const [re, dir] of [
      [/--report-dir reports$/m, 'reports'],
      [/--report-dir reports-docker$/m, 'reports-docker'],
    ] as const) {
      const summary = stepNamed(LINUX.id, re).run!.summary;
      expect(summary).toContain(readFileSync(join(runs(join(ws(LINUX.id), dir))[0]!, 'summary.md'), 'utf8'));
      expect(summary).toMatch(/^## .*nslab: 0 failed · 0 errors/m);
      expect(Buffer.byteLength(summary)).toBeLessThan(1024 * 1024);
    }
  });

  it("uploads each run's report once, as the merge job counts them (not again through reports/latest)", () => {
    const name = `report-${LINUX.matrix.name}`;
    const files = readdirSync(join(artifacts, name), { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('report.json'),
    );
    const ids = files.map((f) => json<Report>(join(artifacts, name, f)).runId);
    const made = ['reports', 'reports-docker'].flatMap((d) => runs(join(ws(LINUX.id), d)));
    expect(ids.sort()).toEqual(made.map((d) => json<Report>(join(d, 'report.json')).runId).sort());
  });

  it.runIf(!!mergeId)(`has its reports merged by the ${mergeId} job's steps`, () => {
    const merge = jobs[mergeId!];
    expect(merge, 'the merge job did not run').toBeDefined();
    for (const r of merge!.records) {
      expect(r.error ?? '', r.run?.output.slice(-4000)).toBe('');
      if (!r.ran) expect(r.skippedBecause).toMatch(/linked from the scenarios job/);
    }
    // One merged report, with every target of the runs it was given.
    const [merged, ...more] = runs(join(ws(mergeId!), 'merged'));
    expect(more).toEqual([]);
    const given = ['reports', 'reports-docker'].flatMap((d) => runs(join(ws(LINUX.id), d)));
    expect(json<Report>(join(merged!, 'report.json')).targets).toHaveLength(
      given.reduce((n, d) => n + json<Report>(join(d, 'report.json')).targets.length, 0),
    );
  });
});

describe("the runner's expressions, conditions and shells, as this test implements them", () => {
  const contexts = (matrix: Record<string, Value> | undefined, failed = false): Contexts => ({
    values: {
      ...jobContexts({ id: 'job', workspace: PROJECT_ROOT, runnerTemp: tmpdir(), sha }),
      ...(matrix ? { matrix } : {}),
    },
    functions: { ...statusFunctions(() => failed), hashfiles: (...p) => hashFiles(PROJECT_ROOT, ...p) },
  });

  it.each([
    [imagesId, imagesJob, undefined],
    [`${LINUX.id} (${LINUX.matrix.name})`, linuxJob, LINUX.matrix],
  ] as [string, Job, Record<string, Value> | undefined][])(
    'knows every expression and if: of the %s job',
    (_, job, matrix) => {
      const ctx = contexts(matrix);
      expect(String(substitute(job['runs-on'], ctx))).toMatch(/^ubuntu-/);
      expect(Number(substitute(String(job['timeout-minutes']), ctx))).toBeGreaterThan(0);
      substitute(job.name ?? '', ctx);
      for (const s of job.steps) {
        for (const text of [s.name, s.run, s['working-directory']]) if (text) substitute(text, ctx);
        substituteMap(s.with, ctx);
        substituteMap(s.env, ctx);
        shouldRun(s.if, ctx);
      }
    },
  );

  it('fails on an expression it does not know, instead of substituting nothing', () => {
    const ctx = contexts({ name: 'linux', os: 'ubuntu-24.04' });
    for (const e of [
      '${{ matrix.nope }}',
      '${{ github.event.head_commit.message }}',
      '${{ secrets.TOKEN }}',
      '${{ env.X }}',
      "${{ fromJSON('[1]') }}",
      '${{ matrix }}',
      "${{ runner.os < 'M' }}",
    ])
      expect(() => substitute(e, ctx), e).toThrow(/expression/);
    expect(substitute('report-${{ matrix.name }}', ctx)).toBe('report-linux');
    expect(hashFiles(PROJECT_ROOT, 'package-lock.json')).toMatch(/^[0-9a-f]{64}$/);
    expect(() => hashFiles(PROJECT_ROOT, 'harness/**/*.ts')).toThrow(/hashFiles/);
  });

  it('runs a step as GitHub does: success() unless it says otherwise; == ignores case', () => {
    expect(shouldRun("runner.os == 'linux'", contexts(undefined))).toBe(true);
    expect(shouldRun("runner.os == 'Windows'", contexts(undefined))).toBe(false);
    expect(shouldRun("runner.os == 'Linux'", contexts(undefined, true))).toBe(false);
    expect(shouldRun(undefined, contexts(undefined, true))).toBe(false);
    expect(shouldRun('always()', contexts(undefined, true))).toBe(true);
    expect(shouldRun('${{ failure() }}', contexts(undefined, true))).toBe(true);
  });

  it.runIf(findOnPath('bash'))(
    `gives a run: step bash -e by default, bash --noprofile --norc -e -o pipefail for shell: bash${skipNote(findOnPath('bash'), 'bash is not on PATH')}`,
    () => {
      expect(shellArgv(undefined, '/s.sh').slice(1)).toEqual(['-e', '/s.sh']);
      expect(shellArgv('bash', '/s.sh').slice(1)).toEqual([
        '--noprofile',
        '--norc',
        '-e',
        '-o',
        'pipefail',
        '/s.sh',
      ]);
      expect(shellArgv('bash -x {0}', '/s.sh').slice(1)).toEqual(['-x', '/s.sh']);
      expect(() => shellArgv('pwsh', '/s.ps1')).toThrow(/built-in/);
    },
  );
});
