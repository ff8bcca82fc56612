import { parseRelations, parseStanzas, type Relation } from './control.ts';
import { ResolutionError } from './resolution-error.ts';
import { compareVersions } from './version.ts';

/** One binary package as a Packages index describes it. */
export interface PackageRecord {
  name: string;
  version: string;
  arch: string;
  /** Where it lies under the mirror's root (`pool/main/...`). */
  filename: string;
  size: number;
  sha256: string;
  /** The relationship fields as written; parsed only for the packages a resolution reaches. */
  depends?: string;
  preDepends?: string;
  provides?: string;
  /** Which source (mirror and suite) listed it: the download comes from there. */
  origin: string;
}

const FIELDS = new Set([
  'Package',
  'Version',
  'Architecture',
  'Filename',
  'Size',
  'SHA256',
  'Depends',
  'Pre-Depends',
  'Provides',
]);

/**
 * What a record's fields may be (Debian policy 5.6.1, 5.6.12): they become a URL and a file name here, so a
 * record outside these is dropped, never used (`..`, a slash or a backslash would leave the cache folder).
 */
const VALID = {
  name: /^[a-z0-9][a-z0-9+.-]+$/,
  version: /^[A-Za-z0-9.+~:-]+$/,
  arch: /^[a-z0-9-]+$/,
  filename: /^pool\/(?:[A-Za-z0-9+.~_-]+\/)*[A-Za-z0-9+.~%_-]+\.deb$/,
  sha256: /^[0-9a-f]{64}$/,
};

/** The records of one Packages index (its text, decompressed). */
export function parsePackages(text: string, origin: string): PackageRecord[] {
  return parseStanzas(text, FIELDS).flatMap((s) => {
    if (!s.Package || !s.Version || !s.Filename || !s.SHA256) return [];
    const arch = s.Architecture ?? 'all';
    if (
      !VALID.name.test(s.Package) ||
      !VALID.version.test(s.Version) ||
      !VALID.arch.test(arch) ||
      !VALID.filename.test(s.Filename) ||
      s.Filename.split('/').includes('..') ||
      !VALID.sha256.test(s.SHA256) ||
      !/^\d+$/.test(s.Size ?? '')
    )
      return [];
    return [
      {
        name: s.Package,
        version: s.Version,
        arch,
        filename: s.Filename,
        size: Number(s.Size),
        sha256: s.SHA256,
        ...(s.Depends ? { depends: s.Depends } : {}),
        ...(s['Pre-Depends'] ? { preDepends: s['Pre-Depends'] } : {}),
        ...(s.Provides ? { provides: s.Provides } : {}),
        origin,
      },
    ];
  });
}

/** Whether `version` meets a relation's constraint. Pure. */
export function satisfies(version: string, relation: Pick<Relation, 'op' | 'version'>): boolean {
  if (!relation.op || relation.version === undefined) return true;
  const c = compareVersions(version, relation.version);
  switch (relation.op) {
    case '<<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '=':
      return c === 0;
    case '>=':
      return c >= 0;
    case '>>':
      return c > 0;
  }
}

/**
 * Every package of the sources for one architecture, with apt's choice of candidate: the highest version
 * of a name among all sources (they share one priority, as in a default sources.list), packages for the
 * architecture or for `all`. Pure once built.
 */
export class PackageIndex {
  private readonly byName = new Map<string, PackageRecord[]>();
  private providersByName: Map<string, PackageRecord[]> | undefined;

  constructor(
    readonly arch: string,
    records: Iterable<PackageRecord>,
  ) {
    for (const r of records) {
      if (r.arch !== arch && r.arch !== 'all') continue;
      push(this.byName, r.name, r);
    }
  }

  /** Who provides what, made on the first look-up of a virtual name (most resolutions need none). */
  private get providers(): Map<string, PackageRecord[]> {
    if (!this.providersByName) {
      this.providersByName = new Map();
      // Provides of the candidates only: an older version's Provides is not what apt would install.
      for (const name of this.byName.keys()) {
        const c = this.candidate(name)!;
        if (c.provides) for (const p of providedBy(c)) push(this.providersByName, p.name, c);
      }
    }
    return this.providersByName;
  }

  /** The version apt would pick for a real package name, or undefined. */
  candidate(name: string): PackageRecord | undefined {
    const all = this.byName.get(name);
    if (!all) return undefined;
    return all.reduce((best, r) => (compareVersions(r.version, best.version) > 0 ? r : best));
  }

  /**
   * The package that satisfies one relation: the candidate of the named package if its version fits, else
   * the first (by name) candidate that provides it (a virtual package; a versioned Provides must fit a
   * versioned relation).
   */
  satisfier(relation: Relation): PackageRecord | undefined {
    const real = this.candidate(relation.name);
    if (real && satisfies(real.version, relation)) return real;
    const providers = (this.providers.get(relation.name) ?? [])
      .filter((p) => {
        const provided = providedBy(p).find((x) => x.name === relation.name)!;
        return !relation.op || (provided.version !== undefined && satisfies(provided.version, relation));
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return providers[0];
  }

  /** The first alternative of a group that can be satisfied, as apt tries them in order. */
  choose(group: Relation[]): PackageRecord | undefined {
    for (const alt of group) {
      const s = this.satisfier(alt);
      if (s) return s;
    }
    return undefined;
  }

  /** What a package's Pre-Depends and Depends resolve to, in that order; an unsatisfiable group throws. */
  dependenciesOf(record: PackageRecord): PackageRecord[] {
    return [...parseRelations(record.preDepends), ...parseRelations(record.depends)].map((group) => {
      const chosen = this.choose(group);
      if (!chosen) throw new UnresolvableError(record, group);
      return chosen;
    });
  }
}

/** A relation no package of the sources satisfies. */
export class UnresolvableError extends ResolutionError {
  constructor(
    readonly of: PackageRecord | undefined,
    readonly group: Relation[],
  ) {
    const text = group.map((r) => `${r.name}${r.op ? ` (${r.op} ${r.version})` : ''}`).join(' | ');
    super(
      of ? `${of.name} ${of.version} depends on ${text}, which no package provides` : `no package ${text}`,
    );
    this.name = 'UnresolvableError';
  }
}

function providedBy(r: PackageRecord): Relation[] {
  return parseRelations(r.provides).flat();
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
