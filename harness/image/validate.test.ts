import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LinuxkitConfigError, validateLinuxkitFile, validateLinuxkitText } from './validate.ts';
import { DEFAULT_LINUXKIT_YML } from '../cli/paths.ts';
import { skipNote } from '../../test/helpers/tools.ts';

// Real LinuxKit configurations from ../shared (see its README): 176 accepted, 3 rejected for named reasons.
const FIXTURES = new URL('../../../shared/fixtures/linuxkit/real/', import.meta.url).pathname;
const hasFixtures = existsSync(FIXTURES);
const files = hasFixtures
  ? readdirSync(FIXTURES)
      .filter((f) => f.endsWith('.yml'))
      .sort()
  : [];
const REJECTED: Record<string, { line: number; message: RegExp }> = {
  'test__cases__000_build__091_validate_linuxkit_yaml__linuxkit.yml': {
    line: 2,
    message: /unknownField: unknown key "unknownField"/,
  },
  'test__cases__000_build__070_volumes__002_rw_on_ro__test.yml': {
    line: 13,
    message: /onboot\[0\]\.binds\[1\]: volume "vola" is read-only, but it is bound read-write/,
  },
  'examples__static-ip.yml': { line: 28, message: /YAML error/ },
};

async function rejection(file: string): Promise<LinuxkitConfigError | Error> {
  try {
    await validateLinuxkitFile(file);
  } catch (e) {
    return e as Error;
  }
  throw new Error(`${file} was accepted`);
}

describe.runIf(hasFixtures)(
  `the real LinuxKit fixtures${skipNote(hasFixtures, `${FIXTURES} is absent (../shared is not beside this clone)`)}`,
  () => {
    it('are all there', () => {
      expect(files).toHaveLength(179);
    });

    it.each(files.filter((f) => !REJECTED[f]))('accepts %s', async (f) => {
      const { config } = await validateLinuxkitFile(join(FIXTURES, f));
      expect(typeof config).toBe('object');
    });

    it.each(Object.entries(REJECTED))('rejects %s with file:line:column', async (f, want) => {
      const error = await rejection(join(FIXTURES, f));
      expect(error.message).toMatch(
        new RegExp(`^${join(FIXTURES, f).replace(/[.+]/g, '\\$&')}:${want.line}:\\d+: `),
      );
      expect(error.message).toMatch(want.message);
      expect((error as { exitCode?: number }).exitCode).toBe(2);
    });
  },
);

describe("the project's linuxkit.yml", () => {
  it('is a valid LinuxKit configuration', async () => {
    const { config } = await validateLinuxkitFile(DEFAULT_LINUXKIT_YML);
    expect(config.services?.map((s) => s.name)).toContain('sshd');
    expect(config.kernel?.cmdline).toContain('console=ttyS0');
  });
});

const BASE = `kernel:
  image: linuxkit/kernel:6.6.71
  cmdline: "console=ttyS0"
init:
  - linuxkit/init:abc
onboot:
  - name: a
    image: alpine:3.20
services:
  - name: web
    image: nginx:1
files:
  - path: etc/x
    contents: "x"
    mode: "0644"
volumes:
  - name: ro
    readonly: true
`;

function errorsOf(text: string): string[] {
  try {
    validateLinuxkitText('lk.yml', text);
  } catch (e) {
    expect(e).toBeInstanceOf(LinuxkitConfigError);
    return (e as LinuxkitConfigError).errors.map((x) => x.message);
  }
  return [];
}

describe('the validator, rule by rule', () => {
  it('accepts the base configuration', () => {
    expect(errorsOf(BASE)).toEqual([]);
  });

  it.each<[string, string, RegExp]>([
    [
      'an unknown nested key',
      BASE.replace('    image: nginx:1', '    image: nginx:1\n    imagee: x'),
      /^lk\.yml:12:5: services\[0\]\.imagee: unknown key "imagee"; expected one of name, image,/,
    ],
    [
      'an unquoted octal mode',
      BASE.replace('mode: "0644"', 'mode: 0644'),
      /^lk\.yml:15:11: files\[0\]\.mode: expected a string .*found the number 644/,
    ],
    [
      'a missing image',
      BASE.replace('    image: nginx:1\n', ''),
      /^lk\.yml:10:5: services\[0\]: missing required key "image"/,
    ],
    [
      'a boolean that is a string',
      BASE.replace('readonly: true', 'readonly: "yes"'),
      /volumes\[0\]\.readonly: expected true or false, found the string "yes"/,
    ],
    [
      'a duplicate service name',
      BASE.replace('services:\n', 'services:\n  - name: web\n    image: nginx:2\n'),
      /^lk\.yml:12:11: services\[1\]\.name: duplicate service name "web"/,
    ],
    [
      'a bad volume name',
      BASE.replace('- name: ro', '- name: Ro'),
      /volumes\[0\]\.name: invalid volume name "Ro"/,
    ],
    [
      'an unknown capability',
      BASE.replace(
        '    image: nginx:1\n',
        '    image: nginx:1\n    capabilities: [CAP_NET_ADMIN, CAP_FLY]\n',
      ),
      /^lk\.yml:12:35: services\[0\]\.capabilities\[1\]: unknown capability "CAP_FLY"/,
    ],
    [
      'a bind without a colon',
      BASE.replace('    image: nginx:1\n', '    image: nginx:1\n    binds: [/etc]\n'),
      /services\[0\]\.binds\[0\]: cannot parse bind "\/etc": .*missing ':'/,
    ],
    [
      'a bind with too many colons',
      BASE.replace('    image: nginx:1\n', '    image: nginx:1\n    binds: ["/a:/b:ro:x"]\n'),
      /too many ':'/,
    ],
    [
      'a read-only volume bound read-write',
      BASE.replace('    image: nginx:1\n', '    image: nginx:1\n    binds: ["ro:/data"]\n'),
      /volume "ro" is read-only, but it is bound read-write/,
    ],
    [
      'a read-only volume mounted read-write',
      BASE.replace(
        '    image: nginx:1\n',
        '    image: nginx:1\n    mounts:\n      - type: bind\n        source: ro\n        destination: /d\n        options: [rw]\n',
      ),
      /services\[0\]\.mounts\[0\]: volume "ro" is read-only, but it is mounted read-write/,
    ],
    [
      'a bad tmpfs',
      BASE.replace('    image: nginx:1\n', '    image: nginx:1\n    tmpfs: ["/t:size=1:x"]\n'),
      /cannot parse tmpfs/,
    ],
    [
      'an unknown rlimit',
      BASE.replace('    image: nginx:1\n', '    image: nginx:1\n    rlimits: ["nofiles,1,2"]\n'),
      /unknown limit "nofiles"/,
    ],
    [
      'a malformed rlimit',
      BASE.replace('    image: nginx:1\n', '    image: nginx:1\n    rlimits: ["nofile,1"]\n'),
      /cannot parse rlimit "nofile,1"/,
    ],
    [
      'a uid naming no container',
      BASE.replace('    image: nginx:1\n', '    image: nginx:1\n    uid: nobody\n'),
      /services\[0\]\.uid: "nobody" names no container/,
    ],
    [
      'contents and source together',
      BASE.replace('    contents: "x"\n', '    contents: "x"\n    source: ./x\n'),
      /files\[0\]\.source: file "etc\/x" has source and contents/,
    ],
    [
      'a directory with contents',
      BASE.replace('    contents: "x"\n', '    contents: "x"\n    directory: true\n'),
      /a directory cannot have contents/,
    ],
    [
      'a file with no contents at all',
      BASE.replace('    contents: "x"\n', ''),
      /contents of file "etc\/x" not specified/,
    ],
    [
      'a bad metadata kind',
      BASE.replace('    contents: "x"\n', '    metadata: toml\n'),
      /unsupported metadata "toml"/,
    ],
    [
      'a mode that is not octal',
      BASE.replace('mode: "0644"', 'mode: "0x1ff"'),
      /cannot parse mode "0x1ff" as an octal number/,
    ],
  ])('rejects %s', (_what, text, message) => {
    const errors = errorsOf(text);
    expect(errors.join('\n')).toMatch(message);
  });

  it('accepts a uid that names another container, and the special capabilities', () => {
    expect(
      errorsOf(
        BASE.replace('    image: nginx:1\n', '    image: nginx:1\n    uid: a\n    capabilities: [all]\n'),
      ),
    ).toEqual([]);
  });

  it('reports every problem at once, each with its own position', () => {
    // Three schema errors in three places: all three, in file order, each at its own line.
    const schema = errorsOf(
      BASE.replace('    image: alpine:3.20\n', '    image: alpine:3.20\n    netns: x\n')
        .replace('    image: nginx:1\n', '    image: nginx:1\n    pid: 7\n')
        .replace('    mode: "0644"\n', '    mode: 0644\n'),
    );
    expect(schema).toHaveLength(3);
    expect(schema[0]).toMatch(/^lk\.yml:9:\d+: onboot\[0\]\.netns: unknown key/);
    expect(schema[1]).toMatch(/^lk\.yml:13:\d+: services\[0\]\.pid/);
    expect(schema[2]).toMatch(/^lk\.yml:17:\d+: files\[0\]\.mode/);
    // Two build-rule errors (checked once the schema holds): both reported.
    const rules = errorsOf(
      BASE.replace(
        '    image: nginx:1\n',
        '    image: nginx:1\n    capabilities: [CAP_NOPE]\n    binds: [/etc]\n',
      ),
    );
    expect(rules).toHaveLength(2);
    expect(rules.join('\n')).toMatch(/services\[0\]\.capabilities\[0\]/);
    expect(rules.join('\n')).toMatch(/services\[0\]\.binds\[0\]/);
    // Schema errors first: the rule checks only run on a well-formed file.
    expect(
      errorsOf(BASE.replace('    image: nginx:1\n', '    image: nginx:1\n    binds: [/etc]\n    netns: x\n')),
    ).toHaveLength(1);
    expect(readFileSync(DEFAULT_LINUXKIT_YML, 'utf8')).toContain('kernel:');
  });
});
