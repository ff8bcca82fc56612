import { ResolutionError } from './resolution-error.ts';

/**
 * Debian control data (deb822): stanzas of `Field: value` lines, continuation lines indented, stanzas
 * separated by blank lines. Used for Release files and Packages indices. Pure.
 */
export type Stanza = Record<string, string>;

/**
 * Every stanza in `text`, with only the fields in `keep` (all when it is undefined): a Packages index is
 * 50 MB, and most of its fields are never read.
 */
export function parseStanzas(text: string, keep?: ReadonlySet<string>): Stanza[] {
  const stanzas: Stanza[] = [];
  let current: Stanza = {};
  let field: string | undefined;
  let any = false;
  let start = 0;
  // Characters are looked at before anything is sliced: most lines of an index (descriptions) are skipped.
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const lineEnd = text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    const first = text.charCodeAt(start);
    const lineStart = start;
    start = end + 1;
    if (first === 32 || first === 9) {
      // A continuation of the field before it (its lines are kept, joined by newlines), or a blank line.
      if (isBlank(text, lineStart, lineEnd)) {
        if (any) stanzas.push(current);
        current = {};
        field = undefined;
        any = false;
      } else if (field !== undefined) current[field] += `\n${text.slice(lineStart + 1, lineEnd)}`;
      continue;
    }
    if (lineStart >= lineEnd) {
      if (any) stanzas.push(current);
      current = {};
      field = undefined;
      any = false;
      continue;
    }
    const colon = text.indexOf(':', lineStart);
    if (colon <= lineStart || colon >= lineEnd) continue; // not a field; nothing here reads such a file
    const name = text.slice(lineStart, colon);
    any = true;
    if (keep && !keep.has(name)) {
      field = undefined;
      continue;
    }
    field = name;
    current[name] = text.slice(colon + 1, lineEnd).trim();
  }
  if (any) stanzas.push(current);
  return stanzas;
}

function isBlank(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9) return false;
  }
  return true;
}

/** One entry of a relationship field such as Depends: a package, with an optional constraint and arch. */
export interface Relation {
  name: string;
  /** `:any`, `:native` or an architecture, as written. */
  archQualifier?: string;
  op?: '<<' | '<=' | '=' | '>=' | '>>';
  version?: string;
}

/**
 * A relationship field: a comma-separated list of alternatives (`a (>= 1) | b`). Architecture restrictions
 * (`[amd64]`) and build profiles (`<!nocheck>`) appear only in source packages' fields; they are dropped.
 */
export function parseRelations(field: string | undefined): Relation[][] {
  if (!field) return [];
  return field
    .split(',')
    .map((group) =>
      group
        .split('|')
        .map((alt) => alt.replace(/\[[^\]]*\]|<[^>]*>/g, '').trim())
        .filter((alt) => alt !== '')
        .map(parseRelation),
    )
    .filter((group) => group.length > 0);
}

function parseRelation(text: string): Relation {
  const m =
    /^([a-z0-9][a-z0-9+.-]*)(?::([a-z0-9-]+))?\s*(?:\(\s*(<<|<=|=|>=|>>|<|>)\s*([^)\s]+)\s*\))?$/.exec(text);
  if (!m) throw new ResolutionError(`not a package relation: "${text}"`);
  const relation: Relation = { name: m[1]! };
  if (m[2]) relation.archQualifier = m[2];
  if (m[3]) {
    // `<` and `>` are dpkg's obsolete spellings of `<=` and `>=`.
    relation.op = (m[3] === '<' ? '<=' : m[3] === '>' ? '>=' : m[3]) as Relation['op'];
    relation.version = m[4]!;
  }
  return relation;
}
