import { describe, expect, it } from 'vitest';
import { parseRelations, parseStanzas } from './control.ts';
import { PackageIndex, parsePackages, UnresolvableError } from './package-index.ts';

// A Packages index in Debian's own layout (continuation lines, a description, several versions of a name,
// a virtual package, Pre-Depends, alternatives, an arch qualifier).
const PACKAGES = `Package: tool
Version: 1.0-1
Architecture: amd64
Pre-Depends: libc6 (>= 2.34)
Depends: awk | gawk, zlib1g:any (>= 1:1.2),
 libfoo
Description: a tool
 with a long description
 .
 over lines
Filename: pool/main/t/tool/tool_1.0-1_amd64.deb
Size: 100
SHA256: ${'a'.repeat(64)}

Package: tool
Version: 1.0-1+deb12u1
Architecture: amd64
Pre-Depends: libc6 (>= 2.34)
Depends: awk, zlib1g (>= 1:1.2), libfoo
Filename: pool/main/t/tool/tool_1.0-1+deb12u1_amd64.deb
Size: 101
SHA256: ${'b'.repeat(64)}

Package: libc6
Version: 2.36-9
Architecture: amd64
Filename: pool/main/g/glibc/libc6_2.36-9_amd64.deb
Size: 1
SHA256: ${'c'.repeat(64)}

Package: zlib1g
Version: 1:1.2.13-1
Architecture: arm64
Filename: pool/main/z/zlib/zlib1g_1.2.13-1_arm64.deb
Size: 1
SHA256: ${'d'.repeat(64)}

Package: zlib1g
Version: 1:1.2.13-1
Architecture: amd64
Filename: pool/main/z/zlib/zlib1g_1.2.13-1_amd64.deb
Size: 1
SHA256: ${'e'.repeat(64)}

Package: mawk
Version: 1.3.4-1
Architecture: amd64
Provides: awk
Filename: pool/main/m/mawk/mawk_1.3.4-1_amd64.deb
Size: 1
SHA256: ${'f'.repeat(64)}

Package: libfoo
Version: 2
Architecture: all
Provides: libfoo-abi (= 2)
Filename: pool/main/f/foo/libfoo_2_all.deb
Size: 1
SHA256: ${'0'.repeat(64)}
`;

describe('control data', () => {
  it('reads stanzas with continuation lines, CRLF or not', () => {
    const [first] = parseStanzas(PACKAGES.replace(/\n/g, '\r\n'));
    expect(first!.Depends).toBe('awk | gawk, zlib1g:any (>= 1:1.2),\nlibfoo');
    expect(first!.Description).toBe('a tool\nwith a long description\n.\nover lines');
    expect(parseStanzas(PACKAGES)).toHaveLength(7);
  });

  it('reads relations: alternatives, constraints, arch qualifiers; drops source-only restrictions', () => {
    expect(parseRelations('a (>= 1) | b:any, c [amd64] <!nocheck>, d (<< 2~)')).toEqual([
      [
        { name: 'a', op: '>=', version: '1' },
        { name: 'b', archQualifier: 'any' },
      ],
      [{ name: 'c' }],
      [{ name: 'd', op: '<<', version: '2~' }],
    ]);
    expect(() => parseRelations('Not A Name')).toThrow(/not a package relation/);
  });
});

describe('PackageIndex', () => {
  it('drops a record whose fields could leave the cache folder or are not Debian names', () => {
    const evil = PACKAGES.replace(
      'pool/main/f/foo/libfoo_2_all.deb',
      'pool/../../etc/libfoo_2_all.deb',
    ).replace('Package: mawk', 'Package: ../mawk');
    const names = parsePackages(evil, 'test').map((r) => r.name);
    expect(names).not.toContain('libfoo');
    expect(names).not.toContain('../mawk');
    expect(names).toContain('zlib1g');
  });

  const index = new PackageIndex('amd64', parsePackages(PACKAGES, 'test'));

  it('takes the newest version of a name, for the architecture or all, as apt does', () => {
    expect(index.candidate('tool')?.version).toBe('1.0-1+deb12u1');
    expect(index.candidate('zlib1g')?.filename).toMatch(/_amd64\.deb$/);
    expect(index.candidate('libfoo')?.arch).toBe('all');
    expect(index.candidate('nothing')).toBeUndefined();
  });

  it('follows Pre-Depends, then Depends, through virtual packages and alternatives', () => {
    expect(index.dependenciesOf(index.candidate('tool')!).map((r) => r.name)).toEqual([
      'libc6',
      'mawk',
      'zlib1g',
      'libfoo',
    ]);
    // The older version's first alternative is virtual too (awk | gawk): mawk, which provides it.
    const older = parsePackages(PACKAGES, 'test').find((r) => r.version === '1.0-1')!;
    expect(index.dependenciesOf(older).map((r) => r.name)).toEqual(['libc6', 'mawk', 'zlib1g', 'libfoo']);
    expect(index.satisfier({ name: 'awk' })?.name).toBe('mawk');
    expect(index.satisfier({ name: 'libfoo-abi', op: '>=', version: '2' })?.name).toBe('libfoo');
    expect(index.satisfier({ name: 'libfoo-abi', op: '>=', version: '3' })).toBeUndefined();
  });

  it('names a dependency that nothing satisfies, and who needs it', () => {
    const broken = new PackageIndex(
      'amd64',
      parsePackages(
        PACKAGES.replace('Depends: awk, zlib1g (>= 1:1.2)', 'Depends: awk, zlib1g (>= 2:0)'),
        'test',
      ),
    );
    const tool = broken.candidate('tool')!;
    expect(() => broken.dependenciesOf(tool)).toThrow(UnresolvableError);
    expect(() => broken.dependenciesOf(tool)).toThrow(
      'tool 1.0-1+deb12u1 depends on zlib1g (>= 2:0), which no package provides',
    );
  });
});
