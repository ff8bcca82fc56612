import { readFile } from 'node:fs/promises';
import {
  LineCounter,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  type Document,
  type Node,
  type Pair,
} from 'yaml';
import { ConfigError, EnvironmentError, type SourcePosition } from '../errors.ts';

/** A key path as users read it: `services[1].capabilities[2]`. */
export type KeyPath = string;

export function childPath(parent: KeyPath, key: string | number): KeyPath {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

/**
 * One parsed YAML file that remembers where every node came from, so that each validation error can
 * name file, line and column. Strict YAML 1.2: duplicate keys and syntax errors are errors, not warnings.
 */
export class YamlSource {
  readonly file: string;
  readonly doc: Document.Parsed;
  private readonly lines: LineCounter;

  private constructor(file: string, doc: Document.Parsed, lines: LineCounter) {
    this.file = file;
    this.doc = doc;
    this.lines = lines;
  }

  static parse(file: string, text: string): YamlSource {
    const lines = new LineCounter();
    const doc = parseDocument(text, {
      lineCounter: lines,
      prettyErrors: false,
      uniqueKeys: true,
      version: '1.2',
    });
    const source = new YamlSource(file, doc, lines);
    const first = doc.errors[0];
    if (first) {
      const { line, col } = lines.linePos(first.pos[0]);
      const message = first.message.split('\n')[0] ?? first.message;
      throw new ConfigError({ file, line, column: col }, '', `YAML error: ${message}`);
    }
    return source;
  }

  static async read(file: string): Promise<YamlSource> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new EnvironmentError(`${file}: no such file`, 'check the path');
      throw new EnvironmentError(`${file}: cannot read (${code ?? String(error)})`, undefined, error);
    }
    return YamlSource.parse(file, text);
  }

  get root(): Node | null {
    return (this.doc.contents as Node | null) ?? null;
  }

  position(node: Node | Pair | null | undefined): SourcePosition {
    const range =
      node && 'range' in node ? node.range : node && 'key' in node ? (node.key as Node)?.range : null;
    const offset = range?.[0] ?? 0;
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col };
  }

  error(node: Node | Pair | null | undefined, path: KeyPath, message: string, hint?: string): ConfigError {
    return new ConfigError(this.position(node), path, message, hint);
  }
}

/** What a YAML node is, in words for error messages ("found a list"). */
export function describeNode(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    if (typeof v === 'string')
      return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
    if (typeof v === 'number') return `the number ${v}`;
    if (typeof v === 'boolean') return `the boolean ${v}`;
    return `a ${typeof v}`;
  }
  return 'an alias or tag';
}
