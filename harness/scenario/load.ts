import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { isMap, isScalar, isSeq, type Node, type Pair, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { UsageError } from '../errors.ts';
import { childPath, describeNode, YamlSource, type KeyPath } from '../config/yaml-source.ts';
import {
  NAMESPACES,
  RUNTIME_NAMES,
  TARGET_KINDS,
  type Namespace,
  type RuntimeName,
  type TargetKind,
} from '../vocabulary.ts';
import {
  FORKING_INSIDE_BUILTINS,
  INSIDE_BUILTINS,
  OPERATORS,
  OUTSIDE_BUILTINS,
  RUNTIME_FACTS_COMMAND,
  TIME_CLOCKS,
  TIME_OFFSET_MAX,
  type CommandObservation,
  type Expectation,
  type InsideBuiltin,
  type Scenario,
  type Side,
  type TimeOffsets,
} from './types.ts';

const NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const PATH_RE = /^(inside|outside)(\.[A-Za-z][A-Za-z0-9_-]*|\[-?\d+\])*$/;

/** Reads one scenario file; every mistake is a ConfigError naming file, line, column and key path. */
export async function loadScenarioFile(file: string): Promise<Scenario> {
  return parseScenario(await YamlSource.read(file));
}

export function parseScenarioText(file: string, text: string): Scenario {
  return parseScenario(YamlSource.parse(file, text));
}

/** Loads every `*.yaml` under the folder, sorted by name; duplicate names are an error. */
export async function loadScenarioDir(dir: string): Promise<Scenario[]> {
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const scenarios: Scenario[] = [];
  for (const f of files) scenarios.push(await loadScenarioFile(join(dir, f)));
  const seen = new Map<string, string>();
  for (const s of scenarios) {
    const other = seen.get(s.name);
    if (other) throw new UsageError(`scenario name "${s.name}" is used by both ${other} and ${s.file}`);
    seen.set(s.name, s.file);
  }
  return scenarios;
}

/**
 * The scenarios a run asks for: every one for "all"; for one name, its own file (<name>.yaml) when that
 * file is the scenario of that name, else the whole folder searched. Reading one file instead of all is
 * most of a one-scenario run's start-up. Unknown: [].
 */
export async function loadScenariosNamed(dir: string, name: string): Promise<Scenario[]> {
  if (name !== 'all' && NAME_RE.test(name)) {
    for (const ext of ['yaml', 'yml']) {
      const file = join(dir, `${name}.${ext}`);
      if (!existsSync(file)) continue;
      const s = await loadScenarioFile(file);
      if (s.name === name) return [s];
    }
  }
  const all = await loadScenarioDir(dir);
  return name === 'all' ? all : all.filter((s) => s.name === name);
}

function parseScenario(src: YamlSource): Scenario {
  const root = mapping(src, src.root, '', [
    'name',
    'title',
    'question',
    'source',
    'isolate',
    'runtimes',
    'observe',
    'expect',
  ]);
  const name = string(src, required(src, root, '', 'name'), 'name');
  if (!NAME_RE.test(name)) {
    throw src.error(
      root.get('name', true) as Node,
      'name',
      `expected lowercase letters, digits and dashes, found ${JSON.stringify(name)}`,
    );
  }
  const stem = basename(src.file).replace(/\.ya?ml$/, '');
  if (stem !== name) {
    throw src.error(
      root.get('name', true) as Node,
      'name',
      `must match the file name "${stem}", found "${name}"`,
      `rename the file to ${name}.yaml or change name`,
    );
  }
  const isolateNode = mapping(src, required(src, root, '', 'isolate'), 'isolate', [
    'namespaces',
    'optional',
    'time',
    'fork',
  ]);
  const nsNode = sequence(src, required(src, isolateNode, 'isolate', 'namespaces'), 'isolate.namespaces');
  const namespaces = nsNode.items.map((item, i) =>
    oneOf(src, item as Node, childPath('isolate.namespaces', i), NAMESPACES),
  ) as Namespace[];
  if (namespaces.length === 0)
    throw src.error(nsNode, 'isolate.namespaces', 'expected at least one namespace');
  const optional = optionalNamespaces(src, isolateNode, namespaces);
  const time = timeOffsets(src, isolateNode, namespaces);
  const fork = forkOption(src, isolateNode, namespaces);
  const runtimesNode = root.get('runtimes', true) as Node | undefined;
  const runtimes = runtimesNode ? runtimeList(src, runtimesNode, 'runtimes') : ['unshare' as const];
  if (runtimesNode && runtimes.length === 0)
    throw src.error(runtimesNode, 'runtimes', `expected at least one of ${RUNTIME_NAMES.join(', ')}`);

  const observeNode = mapping(src, required(src, root, '', 'observe'), 'observe', ['inside', 'outside']);
  const inside = side(src, observeNode, 'inside', INSIDE_BUILTINS);
  const outside = side(src, observeNode, 'outside', OUTSIDE_BUILTINS);
  if (fork === false) noForkingBuiltins(src, observeNode, inside.builtins);

  const expectNode = root.get('expect', true) as Node | undefined;
  const expect = expectNode
    ? sequence(src, expectNode, 'expect').items.map((e, i) =>
        expectation(src, e as Node, childPath('expect', i)),
      )
    : [];

  return {
    name,
    title: string(src, required(src, root, '', 'title'), 'title'),
    question: string(src, required(src, root, '', 'question'), 'question'),
    source: optionalString(src, root, '', 'source'),
    file: src.file,
    isolate: {
      namespaces,
      ...(optional ? { optional } : {}),
      ...(time ? { time } : {}),
      ...(fork === undefined ? {} : { fork }),
    },
    runtimes,
    observe: {
      inside: inside as Scenario['observe']['inside'],
      outside: outside as Scenario['observe']['outside'],
    },
    expect,
  };
}

/** The key node of `key` in a mapping, where an error about the key's presence belongs. */
function keyNode(map: YAMLMap, key: string): Node {
  return (map.items as Pair[]).find((p) => isScalar(p.key) && p.key.value === key)?.key as Node;
}

/** `isolate.optional`: namespaces of the list that a runtime unable to make them may leave out. */
function optionalNamespaces(
  src: YamlSource,
  isolate: YAMLMap,
  namespaces: Namespace[],
): Namespace[] | undefined {
  const node = isolate.get('optional', true) as Node | undefined;
  if (node === undefined) return undefined;
  return sequence(src, node, 'isolate.optional').items.map((item, i) => {
    const ns = oneOf(src, item as Node, childPath('isolate.optional', i), NAMESPACES) as Namespace;
    if (!namespaces.includes(ns))
      throw src.error(
        item as Node,
        childPath('isolate.optional', i),
        `"${ns}" is not in isolate.namespaces; optional names namespaces of that list`,
        `add ${ns} to isolate.namespaces or remove it here`,
      );
    return ns;
  });
}

/** `isolate.fork`: whether `unshare --pid` forks; only with pid, and never with time, which needs it. */
function forkOption(src: YamlSource, isolate: YAMLMap, namespaces: Namespace[]): boolean | undefined {
  const node = isolate.get('fork', true) as Node | undefined;
  if (node === undefined) return undefined;
  if (!isScalar(node) || typeof node.value !== 'boolean')
    throw src.error(node, 'isolate.fork', `expected true or false, found ${describeNode(node)}`);
  if (!namespaces.includes('pid')) {
    throw src.error(
      keyNode(isolate, 'fork'),
      'isolate.fork',
      'fork is how the pid namespace is made, and isolate.namespaces has no pid',
      'add pid to isolate.namespaces or remove isolate.fork',
    );
  }
  if (namespaces.includes('time')) {
    throw src.error(
      keyNode(isolate, 'fork'),
      'isolate.fork',
      'a time namespace always forks (only children enter it), so fork cannot be set with time',
      'remove time from isolate.namespaces or remove isolate.fork',
    );
  }
  return node.value;
}

/** Without fork the inside may start one process per command and no other: no uname, ls or ps. */
function noForkingBuiltins(src: YamlSource, observe: YAMLMap, builtins: readonly string[]): void {
  const forking = builtins.find((b) => FORKING_INSIDE_BUILTINS.includes(b as InsideBuiltin));
  if (forking === undefined) return;
  const items = (observe.get('inside', true) as Node as YAMLSeq).items as Node[];
  const i = items.findIndex((item) => isScalar(item) && item.value === forking);
  throw src.error(
    items[i],
    childPath(childPath('observe', 'inside'), i),
    `"${forking}" starts a process, and with isolate.fork false the inside starts none but its commands ` +
      '(once the first has exited, no fork succeeds)',
    `observe it from outside or remove it; inside without fork: ${INSIDE_BUILTINS.filter((b) => !FORKING_INSIDE_BUILTINS.includes(b)).join(', ')}`,
  );
}

/** `isolate.time`: whole-second clock offsets, only with the time namespace they shift. */
function timeOffsets(src: YamlSource, isolate: YAMLMap, namespaces: Namespace[]): TimeOffsets | undefined {
  const node = isolate.get('time', true) as Node | undefined;
  if (node === undefined) return undefined;
  const m = mapping(src, node, 'isolate.time', TIME_CLOCKS);
  if (!namespaces.includes('time')) {
    throw src.error(
      keyNode(isolate, 'time'),
      'isolate.time',
      'clock offsets need a time namespace, and isolate.namespaces has no time',
      'add time to isolate.namespaces or remove isolate.time',
    );
  }
  if (m.items.length === 0)
    throw src.error(m, 'isolate.time', `expected at least one of ${TIME_CLOCKS.join(', ')}`);
  const offsets: TimeOffsets = {};
  for (const clock of TIME_CLOCKS) {
    const valueNode = m.get(clock, true) as Node | undefined;
    if (valueNode === undefined) continue;
    const v = isScalar(valueNode) ? valueNode.value : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v) > TIME_OFFSET_MAX) {
      throw src.error(
        valueNode,
        childPath('isolate.time', clock),
        `expected a whole number of seconds from -${TIME_OFFSET_MAX} to ${TIME_OFFSET_MAX} (the kernel's limit), found ${describeNode(valueNode)}`,
      );
    }
    offsets[clock] = v;
  }
  return offsets;
}

function side(src: YamlSource, observe: YAMLMap, which: Side, builtins: readonly string[]) {
  const path = childPath('observe', which);
  const node = observe.get(which, true) as Node | undefined;
  const result = { builtins: [] as string[], commands: [] as CommandObservation[] };
  if (!node) return result;
  const names = new Set<string>();
  sequence(src, node, path).items.forEach((item, i) => {
    const p = childPath(path, i);
    if (isScalar(item)) {
      const b = oneOf(
        src,
        item as Node,
        p,
        builtins,
        `a built-in observation (${builtins.join(', ')}) or { name, run }`,
      );
      result.builtins.push(b);
      return;
    }
    const m = mapping(src, item as Node, p, ['name', 'run', 'runtimes']);
    const name = string(src, required(src, m, p, 'name'), childPath(p, 'name'));
    if (
      !/^[a-z][a-zA-Z0-9_-]{0,40}$/.test(name) ||
      builtins.includes(name) ||
      name === RUNTIME_FACTS_COMMAND
    ) {
      throw src.error(
        m.get('name', true) as Node,
        childPath(p, 'name'),
        `expected a name of letters, digits, - and _ that is not a built-in or "${RUNTIME_FACTS_COMMAND}", found ${JSON.stringify(name)}`,
      );
    }
    if (names.has(name))
      throw src.error(m.get('name', true) as Node, childPath(p, 'name'), `"${name}" is observed twice`);
    names.add(name);
    const runNode = sequence(src, required(src, m, p, 'run'), childPath(p, 'run'));
    const run = runNode.items.map((a, j) => string(src, a as Node, childPath(childPath(p, 'run'), j)));
    if (run.length === 0)
      throw src.error(
        runNode,
        childPath(p, 'run'),
        'expected a command as a list of words, found an empty list',
      );
    const runtimesNode = m.get('runtimes', true) as Node | undefined;
    const runtimes = runtimesNode ? runtimeList(src, runtimesNode, childPath(p, 'runtimes')) : undefined;
    result.commands.push({ name, run, ...(runtimes ? { runtimes } : {}) });
  });
  return result;
}

function expectation(src: YamlSource, node: Node, path: KeyPath): Expectation {
  const m = mapping(src, node, path, ['that', 'why', 'on', 'runtimes', ...OPERATORS]);
  const that = string(src, required(src, m, path, 'that'), childPath(path, 'that'));
  if (!PATH_RE.test(that))
    throw src.error(
      m.get('that', true) as Node,
      childPath(path, 'that'),
      `expected a path like inside.pid or outside.nspid[0], found ${JSON.stringify(that)}`,
    );
  const ops = OPERATORS.filter((op) => m.has(op));
  if (ops.length !== 1) {
    throw src.error(
      m,
      path,
      `expected exactly one of ${OPERATORS.join(', ')}, found ${ops.length === 0 ? 'none' : ops.join(' and ')}`,
    );
  }
  const op = ops[0]!;
  const valueNode = m.get(op, true) as Node;
  const valuePath = childPath(path, op);
  let value: string | number | boolean;
  if (op === 'sameAs' || op === 'differsFrom') {
    value = string(src, valueNode, valuePath);
    if (!PATH_RE.test(value))
      throw src.error(
        valueNode,
        valuePath,
        `expected a path like outside.kernel, found ${JSON.stringify(value)}`,
      );
  } else if (op === 'matches') {
    value = string(src, valueNode, valuePath);
    try {
      new RegExp(value);
    } catch (e) {
      throw src.error(valueNode, valuePath, `not a valid regular expression: ${(e as Error).message}`);
    }
  } else {
    if (!isScalar(valueNode) || !['string', 'number', 'boolean'].includes(typeof valueNode.value)) {
      throw src.error(
        valueNode,
        valuePath,
        `expected a string, number or boolean, found ${describeNode(valueNode)}`,
      );
    }
    value = valueNode.value as string | number | boolean;
  }
  const onNode = m.get('on', true) as Node | undefined;
  const targets = onNode
    ? (sequence(src, onNode, childPath(path, 'on')).items.map((t, i) =>
        oneOf(src, t as Node, childPath(childPath(path, 'on'), i), TARGET_KINDS),
      ) as TargetKind[])
    : undefined;
  const runtimesNode = m.get('runtimes', true) as Node | undefined;
  const runtimes = runtimesNode ? runtimeList(src, runtimesNode, childPath(path, 'runtimes')) : undefined;
  return { that, op, value, why: optionalString(src, m, path, 'why'), targets, runtimes };
}

/** A list of runtime names, each one nslab knows. */
function runtimeList(src: YamlSource, node: Node, path: KeyPath): RuntimeName[] {
  return sequence(src, node, path).items.map((r, i) =>
    oneOf(src, r as Node, childPath(path, i), RUNTIME_NAMES),
  ) as RuntimeName[];
}

// ---- small typed readers over YAML nodes; each error says what was expected and what was found ----

function mapping(
  src: YamlSource,
  node: Node | null | undefined,
  path: KeyPath,
  keys: readonly string[],
): YAMLMap {
  if (!isMap(node))
    throw src.error(node, path || '(top level)', `expected a mapping, found ${describeNode(node)}`);
  for (const pair of node.items as Pair[]) {
    const key = isScalar(pair.key) ? String((pair.key as Scalar).value) : '';
    if (!keys.includes(key)) {
      throw src.error(
        pair.key as Node,
        childPath(path, key),
        `unknown key "${key}"; expected one of ${keys.join(', ')}`,
      );
    }
  }
  return node;
}

function required(src: YamlSource, map: YAMLMap, path: KeyPath, key: string): Node {
  const node = map.get(key, true) as Node | undefined;
  if (node === undefined || (isScalar(node) && node.value === null)) {
    throw src.error(map, childPath(path, key), `missing required key "${key}"`);
  }
  return node;
}

function sequence(src: YamlSource, node: Node, path: KeyPath): YAMLSeq {
  if (!isSeq(node)) throw src.error(node, path, `expected a list, found ${describeNode(node)}`);
  return node;
}

function string(src: YamlSource, node: Node, path: KeyPath): string {
  if (!isScalar(node) || typeof node.value !== 'string') {
    throw src.error(node, path, `expected a string, found ${describeNode(node)}`, 'quote the value');
  }
  return node.value;
}

function optionalString(src: YamlSource, map: YAMLMap, path: KeyPath, key: string): string | undefined {
  const node = map.get(key, true) as Node | undefined;
  return node === undefined ? undefined : string(src, node, childPath(path, key));
}

function oneOf(
  src: YamlSource,
  node: Node,
  path: KeyPath,
  allowed: readonly string[],
  expected?: string,
): string {
  if (!isScalar(node) || typeof node.value !== 'string' || !allowed.includes(node.value)) {
    throw src.error(
      node,
      path,
      `expected ${expected ?? `one of ${allowed.join(', ')}`}, found ${describeNode(node)}`,
    );
  }
  return node.value;
}
