import { isMap, isScalar, isSeq, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { ConfigError, ExitCode, NslabError } from '../errors.ts';
import { childPath, describeNode, YamlSource, type KeyPath } from '../config/yaml-source.ts';
import { CAPABILITIES, IMAGE_SECTIONS, LINUXKIT_SHAPE, RLIMITS, type Shape } from './linuxkit-schema.ts';
import type { LinuxkitConfig } from './linuxkit-config.ts';

/** All the problems of one configuration file, each with file:line:column; exit 2. */
export class LinuxkitConfigError extends NslabError {
  readonly errors: ConfigError[];
  constructor(errors: ConfigError[]) {
    super(errors.map((e) => e.message).join('\n'), {
      exitCode: ExitCode.usage,
      hint: 'see docs/yaml.md in linuxkit/linuxkit for the configuration format',
    });
    this.errors = errors;
  }
}

export interface ValidatedConfig {
  file: string;
  config: LinuxkitConfig;
  source: YamlSource;
}

/** Parses and validates a LinuxKit configuration: LinuxKit's schema, then the checks `linuxkit build` makes. */
export async function validateLinuxkitFile(file: string): Promise<ValidatedConfig> {
  return validateLinuxkit(await YamlSource.read(file));
}

export function validateLinuxkitText(file: string, text: string): ValidatedConfig {
  return validateLinuxkit(YamlSource.parse(file, text));
}

function validateLinuxkit(src: YamlSource): ValidatedConfig {
  const errors: ConfigError[] = [];
  const root = src.root;
  if (root !== null && !(isScalar(root) && root.value === null))
    checkShape(src, root, '', LINUXKIT_SHAPE, errors);
  if (errors.length === 0 && isMap(root)) semanticChecks(src, root, errors);
  if (errors.length > 0) throw new LinuxkitConfigError(errors);
  return { file: src.file, config: (src.doc.toJS() ?? {}) as LinuxkitConfig, source: src };
}

function keyOf(pair: Pair): string {
  return isScalar(pair.key) ? String((pair.key as Scalar).value) : String(pair.key);
}

function checkShape(src: YamlSource, node: Node, path: KeyPath, shape: Shape, errors: ConfigError[]): void {
  const fail = (expected: string) =>
    errors.push(src.error(node, path || '(top level)', `expected ${expected}, found ${describeNode(node)}`));
  switch (shape.t) {
    case 'string':
      if (!isScalar(node) || typeof node.value !== 'string')
        fail('a string (quote numbers and octal modes, e.g. "0600")');
      return;
    case 'bool':
      if (!isScalar(node) || typeof node.value !== 'boolean') fail('true or false');
      return;
    case 'int':
      if (!isScalar(node) || !Number.isInteger(node.value)) fail('an integer');
      return;
    case 'id':
      if (!isScalar(node) || !(typeof node.value === 'string' || Number.isInteger(node.value)))
        fail('a name or a number');
      return;
    case 'enum':
      if (!isScalar(node) || !shape.values.includes(String(node.value)))
        fail(`one of ${shape.values.join(', ')}`);
      return;
    case 'list':
      if (!isSeq(node)) return void fail('a list');
      node.items.forEach((item, i) => checkShape(src, item as Node, childPath(path, i), shape.items, errors));
      return;
    case 'map':
      if (!isMap(node)) return void fail('a mapping');
      for (const pair of node.items as Pair[])
        checkShape(src, pair.value as Node, childPath(path, keyOf(pair)), shape.values, errors);
      return;
    case 'object': {
      if (!isMap(node)) return void fail('a mapping');
      for (const pair of node.items as Pair[]) {
        const key = keyOf(pair);
        const sub = shape.props[key];
        if (!sub) {
          errors.push(
            src.error(
              pair.key as Node,
              childPath(path, key),
              `unknown key "${key}"; expected one of ${Object.keys(shape.props).join(', ')}`,
            ),
          );
          continue;
        }
        checkShape(src, pair.value as Node, childPath(path, key), sub, errors);
      }
      for (const req of shape.required ?? []) {
        if (!node.has(req)) errors.push(src.error(node, path, `missing required key "${req}"`));
      }
      return;
    }
  }
}

// ---- the checks LinuxKit makes after the schema (moby/config.go, moby/build/build.go, volume.go) ----

function semanticChecks(src: YamlSource, root: YAMLMap, errors: ConfigError[]): void {
  const node = (path: (string | number)[]): Node | undefined => root.getIn(path, true) as Node | undefined;
  const err = (path: (string | number)[], message: string) =>
    errors.push(
      src.error(
        node(path) ?? root,
        path.reduce<string>((p, k) => childPath(p, k), ''),
        message,
      ),
    );
  const config = (src.doc.toJS() ?? {}) as LinuxkitConfig;

  const serviceNames = new Set<string>();
  (config.services ?? []).forEach((s, i) => {
    if (serviceNames.has(s.name)) err(['services', i, 'name'], `duplicate service name "${s.name}"`);
    serviceNames.add(s.name);
  });

  const volumes = new Map<string, boolean>();
  (config.volumes ?? []).forEach((v, i) => {
    if (!/^[a-z0-9_-]*$/.test(v.name ?? ''))
      err(['volumes', i, 'name'], `invalid volume name "${v.name}": use a-z, 0-9, _ and -`);
    else if (volumes.has(v.name)) err(['volumes', i, 'name'], `duplicate volume name "${v.name}"`);
    volumes.set(v.name, v.readonly === true);
  });

  // Every container gets a uid/gid that other entries may name (build.go: idMap).
  const idNames = new Set(IMAGE_SECTIONS.flatMap((s) => (config[s] ?? []).map((i) => i.name)));
  const checkId = (path: (string | number)[], value: unknown) => {
    if (typeof value === 'string' && value !== '' && value !== 'root' && !idNames.has(value)) {
      err(
        path,
        `"${value}" names no container; a uid/gid name must be "root" or the name of an onboot, onshutdown or service entry`,
      );
    }
  };

  for (const section of IMAGE_SECTIONS) {
    (config[section] ?? []).forEach((image, i) => {
      const at = (...rest: (string | number)[]) => [section, i, ...rest];
      for (const key of ['capabilities', 'capabilities.add', 'ambient'] as const) {
        const caps = (image[key] as string[] | undefined) ?? [];
        const special = caps.length === 1 && ['all', 'none'].includes(caps[0]!.toLowerCase());
        if (!special) {
          caps.forEach((c, j) => {
            if (!CAPABILITIES.includes(c))
              err(
                at(key, j),
                `unknown capability "${c}"; expected CAP_ and a Linux capability name, or a lone "all" or "none"`,
              );
          });
        }
      }
      for (const key of ['binds', 'binds.add'] as const) {
        ((image[key] as string[] | undefined) ?? []).forEach((b, j) => {
          const parts = b.split(':');
          if (parts.length < 2)
            err(at(key, j), `cannot parse bind "${b}": expected SOURCE:DESTINATION[:OPTIONS], missing ':'`);
          else if (parts.length > 3) err(at(key, j), `cannot parse bind "${b}": too many ':'`);
          else if (!parts[0]!.startsWith('/')) {
            if (!volumes.has(parts[0]!)) err(at(key, j), `volume "${parts[0]}" is not defined under volumes`);
            else if (volumes.get(parts[0]!) && parts[2] !== 'ro') {
              err(at(key, j), `volume "${parts[0]}" is read-only, but it is bound read-write; add ":ro"`);
            }
          }
        });
      }
      ((image.mounts as { type?: string; source?: string; options?: string[] }[] | undefined) ?? []).forEach(
        (m, j) => {
          if (m.type !== 'bind' || !m.source || m.source.startsWith('/')) return;
          if (!volumes.has(m.source))
            err(at('mounts', j), `volume "${m.source}" is not defined under volumes`);
          else if (volumes.get(m.source)) {
            const first = (m.options ?? []).find((o) => o === 'ro' || o === 'rw');
            if (first !== 'ro')
              err(
                at('mounts', j),
                `volume "${m.source}" is read-only, but it is mounted read-write; add the option "ro"`,
              );
          }
        },
      );
      ((image.tmpfs as string[] | undefined) ?? []).forEach((t, j) => {
        if (t.split(':').length > 2)
          err(at('tmpfs', j), `cannot parse tmpfs "${t}": expected DESTINATION[:OPTIONS], too many ':'`);
      });
      ((image.rlimits as string[] | undefined) ?? []).forEach((r, j) => {
        const parts = r.split(',');
        if (parts.length !== 3)
          return err(at('rlimits', j), `cannot parse rlimit "${r}": expected NAME,SOFT,HARD`);
        let name = parts[0]!.trim().toUpperCase();
        if (!name.startsWith('RLIMIT_')) name = `RLIMIT_${name}`;
        if (!RLIMITS.includes(name)) err(at('rlimits', j), `unknown limit "${parts[0]!.trim()}" in "${r}"`);
        for (const v of parts.slice(1).map((p) => p.trim())) {
          if (v.toLowerCase() !== 'unlimited' && !/^\d+$/.test(v))
            err(
              at('rlimits', j),
              `cannot parse "${v}" in "${r}" as a limit: expected a number or "unlimited"`,
            );
        }
      });
      checkId(at('uid'), image.uid);
      checkId(at('gid'), image.gid);
      ((image.additionalGids as unknown[] | undefined) ?? []).forEach((g, j) =>
        checkId(at('additionalGids', j), g),
      );
    });
  }

  (config.files ?? []).forEach((f, i) => {
    const at = (...rest: (string | number)[]) => ['files', i, ...rest];
    if (!f.path) err(at(), 'a file entry needs a path');
    if (f.mode !== undefined && !/^[0-7]+$/.test(f.mode))
      err(at('mode'), `cannot parse mode "${f.mode}" as an octal number, e.g. "0644"`);
    const has = (v: unknown) => v !== undefined;
    if (f.directory && has(f.contents)) err(at('contents'), 'a directory cannot have contents');
    if (!f.directory && !f.symlink && !has(f.contents)) {
      if (!f.source && !f.metadata)
        err(
          at(),
          `contents of file "${f.path}" not specified: give contents, source, metadata, symlink or directory`,
        );
      if (f.source && f.metadata)
        err(at('metadata'), `file "${f.path}" has both source and metadata; give one`);
    } else {
      if (f.metadata)
        err(
          at('metadata'),
          `file "${f.path}" has metadata and contents (or is a directory or symlink); give one`,
        );
      if (f.source)
        err(
          at('source'),
          `file "${f.path}" has source and contents (or is a directory or symlink); give one`,
        );
    }
    if (f.metadata && !['json', 'yaml'].includes(f.metadata))
      err(at('metadata'), `unsupported metadata "${f.metadata}": expected json or yaml`);
    checkId(at('uid'), f.uid);
    checkId(at('gid'), f.gid);
  });
}
