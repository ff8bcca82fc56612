// What GitHub's runner does with a job's steps, the parts a test on this machine needs: `${{ }}` expressions
// and `if:` conditions, the shell a `run:` step gets, the step's environment and file commands, and which
// files actions/upload-artifact takes. Each part follows the runner's (or the action's) own source, cited
// where it is; anything outside what is written here throws instead of being guessed.
import { createHash, randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, dirname, join, relative, resolve, sep } from 'node:path';
import { execa } from 'execa';
import { findOnPath } from './tools.ts';

export interface Step {
  name?: string;
  id?: string;
  uses?: string;
  with?: Record<string, unknown>;
  run?: string;
  shell?: string;
  if?: string | boolean;
  env?: Record<string, unknown>;
  'working-directory'?: string;
  'timeout-minutes'?: number | string;
}
export interface Job {
  name?: string;
  'runs-on': string;
  needs?: string | string[];
  if?: string;
  'timeout-minutes'?: number | string;
  strategy?: {
    'fail-fast'?: boolean;
    'max-parallel'?: number;
    matrix: { include?: Record<string, unknown>[] };
  };
  env?: Record<string, unknown>;
  defaults?: { run?: { shell?: string; 'working-directory'?: string } };
  permissions?: unknown;
  steps: Step[];
}
export interface Workflow {
  name?: string;
  on?: unknown;
  concurrency?: unknown;
  permissions?: unknown;
  env?: Record<string, unknown>;
  defaults?: { run?: { shell?: string; 'working-directory'?: string } };
  jobs: Record<string, Job>;
}

const WORKFLOW_KEYS = ['name', 'on', 'concurrency', 'permissions', 'env', 'defaults', 'jobs'];
const JOB_KEYS = [
  'name',
  'runs-on',
  'needs',
  'if',
  'timeout-minutes',
  'strategy',
  'env',
  'defaults',
  'permissions',
  'steps',
];
const STEP_KEYS = [
  'name',
  'id',
  'uses',
  'with',
  'run',
  'shell',
  'if',
  'env',
  'working-directory',
  'timeout-minutes',
];

/** Throws on a key this runner does not implement (a `container:`, `services:`, `continue-on-error:`...). */
export function checkKeys(workflow: Workflow): void {
  const unknown = (where: string, o: object, known: string[]) => {
    const extra = Object.keys(o).filter((k) => !known.includes(k));
    if (extra.length > 0)
      throw new Error(`${where}: ${extra.join(', ')}: not implemented by this test's runner`);
  };
  unknown('workflow', workflow, WORKFLOW_KEYS);
  for (const [id, job] of Object.entries(workflow.jobs)) {
    unknown(`jobs.${id}`, job, JOB_KEYS);
    job.steps.forEach((s, i) => unknown(`jobs.${id}.steps[${i}]`, s, STEP_KEYS));
    const matrix = job.strategy?.matrix;
    if (matrix) unknown(`jobs.${id}.strategy.matrix`, matrix, ['include']);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Expressions (https://docs.github.com/en/actions/reference/workflows-and-actions/expressions): literals,
// context properties, ( ), !, ==, !=, &&, ||, and the functions a context provides. Nothing else.

export type Value = string | number | boolean | null;
export interface Contexts {
  /** Context name → its properties; a property not listed throws. */
  values: Record<string, Record<string, Value>>;
  /** Function name (lower case) → implementation. */
  functions: Record<string, (...args: Value[]) => Value>;
}

type Token = { kind: 'str' | 'num' | 'id' | 'op'; text: string; value?: Value };

function tokens(expr: string): Token[] {
  const out: Token[] = [];
  const re = /\s+|'((?:[^']|'')*)'|(-?\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_-]*)|(==|!=|&&|\|\||[!().,])/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < expr.length) {
    const at = re.lastIndex;
    if (!(m = re.exec(expr)))
      throw new Error(`expression \`${expr}\`: cannot read it from \`${expr.slice(at)}\``);
    if (m[1] !== undefined) out.push({ kind: 'str', text: m[0], value: m[1].replace(/''/g, "'") });
    else if (m[2] !== undefined) out.push({ kind: 'num', text: m[0], value: Number(m[2]) });
    else if (m[3] !== undefined) out.push({ kind: 'id', text: m[3] });
    else if (m[4] !== undefined) out.push({ kind: 'op', text: m[4] });
  }
  return out;
}

/** GitHub's truthiness: false, 0, -0, '' and null are false. */
export const truthy = (v: Value) => !(v === false || v === 0 || v === '' || v === null);

/** GitHub's loose equality: strings compare case-insensitively; other mixed types compare as numbers. */
function equal(a: Value, b: Value): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  if (typeof a === typeof b) return a === b;
  const num = (v: Value) => (v === null ? 0 : typeof v === 'boolean' ? Number(v) : Number(v === '' ? 0 : v));
  return num(a) === num(b);
}

/** Evaluates one expression (the text inside `${{ }}`, or an `if:`). Throws on anything it does not know. */
export function evaluate(expr: string, ctx: Contexts): Value {
  const t = tokens(expr);
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`expression \`${expr.trim()}\`: ${why}`);
  };
  const peek = (text: string) => t[i]?.kind === 'op' && t[i]!.text === text;
  const expect = (text: string) => (peek(text) ? i++ : fail(`expected ${text} at token ${i}`));
  const or = (): Value => {
    let v = and();
    while (peek('||')) {
      i++;
      const r = and();
      v = truthy(v) ? v : r;
    }
    return v;
  };
  const and = (): Value => {
    let v = cmp();
    while (peek('&&')) {
      i++;
      const r = cmp();
      v = truthy(v) ? r : v;
    }
    return v;
  };
  const cmp = (): Value => {
    const a = unary();
    if (peek('==') || peek('!=')) {
      const op = t[i++]!.text;
      const b = unary();
      return op === '==' ? equal(a, b) : !equal(a, b);
    }
    return a;
  };
  const unary = (): Value => {
    if (peek('!')) {
      i++;
      return !truthy(unary());
    }
    return primary();
  };
  const primary = (): Value => {
    const tok = t[i++] ?? fail('ends too early');
    if (tok.kind === 'op' && tok.text === '(') {
      const v = or();
      expect(')');
      return v;
    }
    if (tok.kind === 'str' || tok.kind === 'num') return tok.value!;
    if (tok.kind !== 'id') return fail(`unexpected \`${tok.text}\``);
    if (tok.text === 'true' || tok.text === 'false') return tok.text === 'true';
    if (tok.text === 'null') return null;
    if (peek('(')) {
      i++;
      const fn = ctx.functions[tok.text.toLowerCase()] ?? fail(`function ${tok.text}() is not known here`);
      const args: Value[] = [];
      while (!peek(')')) {
        args.push(or());
        if (!peek(')')) expect(',');
      }
      i++;
      return fn(...args);
    }
    const context = ctx.values[tok.text] ?? fail(`context \`${tok.text}\` is not known here`);
    if (!peek('.')) fail(`the whole \`${tok.text}\` context is not a value this runner gives`);
    i++;
    const prop = t[i++];
    if (prop?.kind !== 'id') return fail(`expected a property after ${tok.text}.`);
    if (!Object.hasOwn(context, prop.text)) fail(`\`${tok.text}.${prop.text}\` is not known here`);
    if (peek('.')) fail(`\`${tok.text}.${prop.text}\` has no properties here`);
    return context[prop.text]!;
  };
  const v = or();
  if (i < t.length) fail(`unexpected \`${t[i]!.text}\``);
  return v;
}

/** How GitHub turns a value into the text of a string it is substituted into. */
const asText = (v: Value) => (v === null ? '' : String(v));

/** Substitutes every `${{ }}` in a string; a value that is one expression alone keeps the expression's type. */
export function substitute(text: string, ctx: Contexts): Value {
  const whole = /^\$\{\{([\s\S]*?)\}\}$/.exec(text.trim());
  if (whole && !whole[1]!.includes('}}')) return evaluate(whole[1]!, ctx);
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, e: string) => asText(evaluate(e, ctx)));
}

/** substitute() over a step's `with:` or `env:` map, every value as text. */
export function substituteMap(
  map: Record<string, unknown> | undefined,
  ctx: Contexts,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(map ?? {}).map(([k, v]) => [k, asText(substitute(String(v), ctx))]),
  );
}

/**
 * Whether a step (or job) with this `if:` runs. As in GitHub, a condition without a status function
 * (success(), always(), failure(), cancelled()) means `success() && (condition)`.
 */
export function shouldRun(condition: string | boolean | undefined, ctx: Contexts): boolean {
  if (condition === undefined) return truthy(evaluate('success()', ctx));
  if (typeof condition === 'boolean') return condition;
  let text = condition.trim();
  const wrapped = /^\$\{\{([\s\S]*)\}\}$/.exec(text);
  if (wrapped) text = wrapped[1]!;
  if (!/\b(success|always|failure|cancelled)\s*\(/i.test(text)) text = `success() && (${text})`;
  return truthy(evaluate(text, ctx));
}

/** Status functions for a job whose steps so far have all passed (`failed` false) or not. */
export const statusFunctions = (failed: () => boolean) => ({
  success: () => !failed(),
  failure: () => failed(),
  always: () => true,
  cancelled: () => false,
});

/**
 * hashFiles(): the SHA-256 of the SHA-256s of the matched files (actions/runner's
 * src/Misc/expressionFunc/hashFiles), here in path order, which may differ from the runner's glob order:
 * the value is for the log, nothing is cached by it. Patterns: a file, or `<folder>/**`; '' when none match.
 */
export function hashFiles(workspace: string, ...patterns: Value[]): string {
  const files: string[] = [];
  for (const p of patterns) {
    if (typeof p !== 'string' || /[*?[]/.test(p.replace(/\/\*\*$/, '')))
      throw new Error(`hashFiles(${JSON.stringify(p)}): only a file or "<folder>/**" is implemented here`);
    const path = resolve(workspace, p.replace(/\/\*\*$/, ''));
    if (!existsSync(path)) continue;
    files.push(...(statSync(path).isDirectory() ? walk(path, { hidden: true }).sort() : [path]));
  }
  if (files.length === 0) return '';
  const all = createHash('sha256');
  for (const f of files) all.update(createHash('sha256').update(readFileSync(f)).digest());
  return all.digest('hex');
}

// ---------------------------------------------------------------------------------------------------------
// `run:` steps (actions/runner src/Runner.Worker/Handlers/ScriptHandler.cs and ScriptHandlerHelpers.cs).

/**
 * The argv a `run:` step gets on Linux for its `shell:`. No shell: bash from PATH (sh without one), with the
 * `sh` arguments `-e {0}`; `bash`: `--noprofile --norc -e -o pipefail {0}`; `sh`: `-e {0}`; `CMD ARGS`: ARGS
 * with {0} replaced by the script's path. Other built-ins (pwsh, python, cmd) are not implemented here.
 */
export function shellArgv(shell: string | undefined, script: string): string[] {
  const which = (cmd: string) => findOnPath(cmd) ?? fail(`${cmd} is not on PATH`);
  const fail = (why: string): never => {
    throw new Error(`shell ${JSON.stringify(shell)}: ${why}`);
  };
  const fill = (format: string) => format.split(' ').map((a) => a.replace('{0}', script));
  if (shell === undefined || shell === '') return [findOnPath('bash') ?? which('sh'), ...fill('-e {0}')];
  const [cmd, args] = [shell.split(' ')[0]!, shell.split(' ').slice(1).join(' ')];
  const builtin: Record<string, string> = { bash: '--noprofile --norc -e -o pipefail {0}', sh: '-e {0}' };
  if (args === '' && !builtin[cmd]) fail('not a built-in this test implements, nor a format with {0}');
  const format = args === '' ? builtin[cmd]! : args;
  if (!format.includes('{0}')) fail('the format has no {0}');
  return [which(cmd), ...fill(format)];
}

/** GITHUB_ENV's format: NAME=value lines, and NAME<<DELIMITER ... DELIMITER blocks. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line === '') continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const end = lines.findIndex((l, j) => j > i && l.replace(/\r$/, '') === heredoc[2]);
      if (end < 0) throw new Error(`GITHUB_ENV: ${heredoc[1]}<<${heredoc[2]} is never closed`);
      out[heredoc[1]!] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (line.includes('=')) out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    else throw new Error(`GITHUB_ENV: cannot read the line ${JSON.stringify(line)}`);
  }
  return out;
}

export interface RunResult {
  argv: string[];
  exitCode: number | undefined;
  timedOut: boolean;
  output: string;
  /** What the step wrote to GITHUB_STEP_SUMMARY. */
  summary: string;
  /** What it wrote to GITHUB_ENV and GITHUB_PATH, for the steps after it. */
  env: Record<string, string>;
  path: string[];
}

/**
 * Runs one `run:` step as the runner does: the script in a file of its own under RUNNER_TEMP (UTF-8, no
 * BOM), the shell's argv, the working directory, the environment as given plus a fresh GITHUB_ENV,
 * GITHUB_PATH, GITHUB_OUTPUT, GITHUB_STATE and GITHUB_STEP_SUMMARY file for this step, stdin closed.
 */
export async function runScript(o: {
  script: string;
  shell: string | undefined;
  cwd: string;
  env: Record<string, string>;
  runnerTemp: string;
  timeoutMs: number;
}): Promise<RunResult> {
  const id = randomUUID();
  const file = join(o.runnerTemp, `${id}.sh`);
  writeFileSync(file, o.script);
  const commands = join(o.runnerTemp, '_runner_file_commands');
  const files = Object.fromEntries(
    ['GITHUB_ENV', 'GITHUB_PATH', 'GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY'].map((k) => [
      k,
      join(commands, `${k.toLowerCase()}_${id}`),
    ]),
  ) as Record<string, string>;
  mkdirSync(commands, { recursive: true });
  for (const f of Object.values(files)) writeFileSync(f, '');
  const argv = shellArgv(o.shell, file);
  const r = await execa(argv[0]!, argv.slice(1), {
    cwd: o.cwd,
    env: { ...o.env, ...files },
    extendEnv: false,
    stdin: 'ignore',
    all: true,
    reject: false,
    timeout: o.timeoutMs,
    forceKillAfterDelay: 10_000,
  });
  const read = (k: string) => readFileSync(files[k]!, 'utf8');
  return {
    argv,
    exitCode: r.exitCode,
    timedOut: r.timedOut,
    output: r.all ?? '',
    summary: read('GITHUB_STEP_SUMMARY'),
    env: parseEnvFile(read('GITHUB_ENV')),
    path: read('GITHUB_PATH')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
  };
}

/** PATH with GITHUB_PATH's entries first, the latest added first (the runner's PrependPath, reversed). */
export const prependPath = (path: string, added: string[]) =>
  [...added].reverse().concat(path).join(delimiter);

// ---------------------------------------------------------------------------------------------------------
// actions/upload-artifact@v4 (src/shared/search.ts over @actions/glob): which files, and the artifact's root.

/**
 * Files (and symlinks to files) under `dir`, symlinked folders followed, folders not listed; with `hidden`
 * false a name starting with "." is left out with everything under it (@actions/glob's excludeHiddenFiles).
 */
function walk(dir: string, o: { hidden: boolean }, seen = new Set<string>()): string[] {
  const real = realpathSync(dir);
  if (seen.has(real)) return [];
  const inner = new Set(seen).add(real);
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!o.hidden && name.startsWith('.')) continue;
    const path = join(dir, name);
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      continue; // a broken symlink: omitBrokenSymbolicLinks
    }
    if (isDir) out.push(...walk(path, o, inner));
    else out.push(path);
  }
  return out;
}

const segmentRegex = (segment: string) =>
  new RegExp(
    `^${segment
      .split('')
      .map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
  );

/** Whether the path's segments match the pattern's (`**` any number of segments, `*` and `?` within one). */
function segmentsMatch(pattern: string[], path: string[]): boolean {
  if (pattern.length === 0) return path.length === 0;
  const [head, ...rest] = pattern;
  if (head === '**')
    return path.some((_, k) => segmentsMatch(rest, path.slice(k))) || segmentsMatch(rest, []);
  return path.length > 0 && segmentRegex(head!).test(path[0]!) && segmentsMatch(rest, path.slice(1));
}

/**
 * The files upload-artifact takes for its `path:` input (one pattern a line; `!` excludes; a folder takes
 * everything under it; symlinks followed; hidden files left out unless `includeHidden`), and the root the
 * artifact's paths are relative to: the one search path, or the common ancestor of several.
 */
export function uploadSet(workspace: string, pathInput: string, includeHidden = false) {
  const lines = pathInput
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const patterns = lines.map((l) => {
    const negate = l.startsWith('!');
    const abs = resolve(workspace, negate ? l.slice(1) : l);
    const segments = abs.split(sep).filter(Boolean);
    const literal = segments.findIndex((s) => /[*?[]/.test(s));
    const searchPath = sep + (literal < 0 ? segments : segments.slice(0, literal)).join(sep);
    return { line: l, negate, segments, searchPath };
  });
  const includes = patterns.filter((p) => !p.negate);
  // Duplicates and paths under another search path are left out (@actions/glob's getSearchPaths).
  const searchPaths = [...new Set(includes.map((p) => p.searchPath))].filter(
    (s, _, all) => !all.some((o) => o !== s && s.startsWith(o + sep)),
  );
  const matches = (p: (typeof patterns)[number], file: string) => {
    const f = file.split(sep).filter(Boolean);
    // A pattern that names a folder takes everything under it (implicitDescendants).
    return f.some((_, k) => segmentsMatch(p.segments, f.slice(0, k + 1)));
  };
  const files = searchPaths
    .filter((s) => existsSync(s))
    .flatMap((s) => (statSync(s).isDirectory() ? walk(s, { hidden: includeHidden }) : [s]))
    .filter((f) => includes.some((p) => matches(p, f)) && !patterns.some((p) => p.negate && matches(p, f)));
  const perPattern = includes.map((p) => ({ line: p.line, files: files.filter((f) => matches(p, f)) }));
  let root: string;
  if (searchPaths.length > 1) {
    const split = searchPaths.map((s) => s.split(sep));
    const common: string[] = [];
    for (let k = 0; k < Math.min(...split.map((s) => s.length)); k++) {
      if (split.some((s) => s[k] !== split[0]![k])) break;
      common.push(split[0]![k]!);
    }
    root = common.join(sep) || sep;
  } else if (files.length === 1 && files[0] === searchPaths[0]) root = dirname(files[0]!);
  else root = searchPaths[0] ?? workspace;
  return { files, root, perPattern, relative: (f: string) => relative(root, f) };
}

/** A step's title as the runner's log shows it. */
export const stepTitle = (s: Step) =>
  s.name ?? (s.uses ? `Run ${s.uses}` : `Run ${(s.run ?? '').trim().split('\n')[0]}`);

// ---------------------------------------------------------------------------------------------------------
// A job: its steps in order, as the runner takes them.

export interface StepRecord {
  index: number;
  title: string;
  step: Step;
  /** false: `if:` said no (skippedBecause says why). */
  ran: boolean;
  skippedBecause?: string;
  ok: boolean;
  /** `uses:` steps: what stood in for the action, in words. */
  standIn?: string;
  run?: RunResult;
  error?: string;
  durationMs: number;
}

export interface JobState {
  id: string;
  workspace: string;
  runnerTemp: string;
  /** The environment every step starts from (the runner's own, plus what stand-ins add, e.g. setup-node). */
  env: Record<string, string>;
  records: StepRecord[];
  failed: boolean;
}

export interface JobOptions {
  workflow: Workflow;
  id: string;
  /** This job's matrix entry, for `matrix.*`; undefined for a job without a matrix. */
  matrix?: Record<string, Value>;
  workspace: string;
  runnerTemp: string;
  env: Record<string, string>;
  /** Stands in for a `uses:` step; returns what it did, in words; throws when the action would fail. */
  uses: (step: Step, inputs: Record<string, string>, job: JobState) => Promise<string>;
  /** A step that is not run here: the reason, recorded as its skip; undefined runs it. */
  skip?: (step: Step) => string | undefined;
  log: (line: string) => void;
}

/** The contexts a Linux job's expressions may use here; anything else throws. */
export function jobContexts(o: { id: string; workspace: string; runnerTemp: string; sha: string }) {
  return {
    runner: { os: 'Linux', arch: 'X64', temp: o.runnerTemp, environment: 'github-hosted' },
    github: { workspace: o.workspace, job: o.id, sha: o.sha, ref: 'refs/heads/main', event_name: 'push' },
  } satisfies Record<string, Record<string, Value>>;
}

/** Runs a job's steps in order, each under its `if:`, within the job's `timeout-minutes`. */
export async function runJob(o: JobOptions, sha: string): Promise<JobState> {
  const job = o.workflow.jobs[o.id]!;
  const state: JobState = {
    id: o.id,
    workspace: o.workspace,
    runnerTemp: o.runnerTemp,
    env: { ...o.env },
    records: [],
    failed: false,
  };
  const ctx: Contexts = {
    values: {
      ...jobContexts({ id: o.id, workspace: o.workspace, runnerTemp: o.runnerTemp, sha }),
      ...(o.matrix ? { matrix: o.matrix } : {}),
    },
    functions: {
      ...statusFunctions(() => state.failed),
      hashfiles: (...p: Value[]) => hashFiles(o.workspace, ...p),
    },
  };
  const minutes = Number(substitute(String(job['timeout-minutes'] ?? 360), ctx));
  if (!(minutes > 0)) throw new Error(`jobs.${o.id}.timeout-minutes: ${minutes} is not a number of minutes`);
  const deadline = Date.now() + minutes * 60_000;
  const jobEnv = { ...substituteMap(o.workflow.env, ctx), ...substituteMap(job.env, ctx) };
  const defaults = { ...o.workflow.defaults?.run, ...job.defaults?.run };
  const added = { env: {} as Record<string, string>, path: [] as string[] };
  o.log(
    `job ${o.id}: ${String(substitute(job.name ?? o.id, ctx))} (runs-on ${String(substitute(job['runs-on'], ctx))}, ${minutes} min)`,
  );
  for (const [index, step] of job.steps.entries()) {
    const title = String(substitute(stepTitle(step), ctx));
    const record: StepRecord = { index, title, step, ran: false, ok: true, durationMs: 0 };
    state.records.push(record);
    const notHere = o.skip?.(step);
    if (notHere !== undefined || !shouldRun(step.if, ctx)) {
      record.skippedBecause =
        notHere ?? (step.if === undefined ? 'a step before it failed' : `if: ${String(step.if)}`);
      o.log(`  - ${title}: skipped (${record.skippedBecause})`);
      continue;
    }
    record.ran = true;
    const started = Date.now();
    try {
      if (step.uses) {
        record.standIn = await o.uses(step, substituteMap(step.with, ctx), state);
      } else {
        const stepMinutes =
          step['timeout-minutes'] === undefined
            ? Infinity
            : Number(substitute(String(step['timeout-minutes']), ctx));
        const shell = step.shell ?? defaults.shell;
        if (shell?.includes('${{')) throw new Error(`shell: ${shell}: GitHub takes no expression there`);
        const wd = String(substitute(step['working-directory'] ?? defaults['working-directory'] ?? '', ctx));
        const env = { ...state.env, ...added.env, ...jobEnv, ...substituteMap(step.env, ctx) };
        env.PATH = prependPath(env.PATH ?? '', added.path);
        record.run = await runScript({
          script: String(substitute(step.run ?? '', ctx)),
          shell,
          cwd: resolve(o.workspace, wd),
          env,
          runnerTemp: o.runnerTemp,
          timeoutMs: Math.max(1, Math.min(deadline, started + stepMinutes * 60_000) - Date.now()),
        });
        Object.assign(added.env, record.run.env);
        added.path.push(...record.run.path);
        if (record.run.exitCode !== 0)
          throw new Error(
            record.run.timedOut
              ? `timed out (the job's ${minutes} min, or the step's own limit)`
              : `Process completed with exit code ${record.run.exitCode}.`,
          );
      }
    } catch (e) {
      record.ok = false;
      record.error = e instanceof Error ? e.message : String(e);
      state.failed = true;
    }
    record.durationMs = Date.now() - started;
    const secs = (record.durationMs / 1000).toFixed(1);
    o.log(`  ${record.ok ? '✓' : '✗'} ${title} (${secs} s)${record.standIn ? `: ${record.standIn}` : ''}`);
    if (!record.ok) {
      o.log(`    ${record.error}`);
      if (record.run)
        o.log(
          record.run.output
            .split('\n')
            .slice(-40)
            .map((l) => `    | ${l}`)
            .join('\n'),
        );
    }
  }
  return state;
}
