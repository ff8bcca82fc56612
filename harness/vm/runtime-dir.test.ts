import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../errors.ts';
import { platformFor } from '../platform/index.ts';
import {
  checkVmDir,
  privateDirProblem,
  privateFileProblem,
  readPrivateFile,
  runtimeDir,
  runtimeDirChoice,
  socketPathProblem,
  type PathFacts,
} from './runtime-dir.ts';
import { skipNote } from '../../test/helpers/tools.ts';

const dir = (over: Partial<PathFacts> = {}): PathFacts => ({
  kind: 'directory',
  uid: 1000,
  mode: 0o700,
  ...over,
});
const file = (over: Partial<PathFacts> = {}): PathFacts => ({
  kind: 'file',
  uid: 1000,
  mode: 0o600,
  ...over,
});

describe('privateDirProblem (pure)', () => {
  it('accepts a folder of ours with mode 0700', () => {
    expect(privateDirProblem('/tmp/nslab-1000', dir(), 1000)).toBeUndefined();
  });

  it('refuses a symlink and says where it points and how to remove it', () => {
    expect(
      privateDirProblem('/tmp/nslab-0', dir({ kind: 'symlink', linkTarget: '/srv/open' }), 1000),
    ).toEqual({
      what: 'is a symlink to /srv/open',
      fix: 'remove the link (rm /tmp/nslab-0)',
    });
  });

  it('refuses a file in place of the folder', () => {
    expect(privateDirProblem('/tmp/nslab-0', dir({ kind: 'file' }), 1000)?.what).toBe('is not a folder');
  });

  it('refuses a folder owned by someone else, naming both uids', () => {
    expect(privateDirProblem('/tmp/nslab-1000', dir({ uid: 65534 }), 1000)).toEqual({
      what: 'is owned by uid 65534, not by you (uid 1000)',
      fix: 'have uid 65534 or root remove it (rm -rf /tmp/nslab-1000)',
    });
  });

  it.each([
    ['0750', 0o750],
    ['0705', 0o705],
    ['0777', 0o777],
    ['0755', 0o755],
    ['0701', 0o701],
    ['0710', 0o710],
  ] as const)('refuses mode %s (group or other bits)', (_label, mode) => {
    const p = privateDirProblem('/tmp/nslab-1000', dir({ mode }), 1000);
    expect(p?.what).toBe(`has mode 0${mode.toString(8)}, with group or other bits; it must be 0700`);
    expect(p?.fix).toBe('chmod 700 /tmp/nslab-1000');
  });

  it('refuses a mode without all of the owner bits (exactly 0700)', () => {
    expect(privateDirProblem('/x', dir({ mode: 0o500 }), 1000)?.what).toBe('has mode 0500; it must be 0700');
  });
});

describe('privateFileProblem (pure)', () => {
  it('accepts a regular file of ours that only we may write', () => {
    expect(privateFileProblem('/r/vm-1/state.json', file({ mode: 0o644 }), 1000, false)).toBeUndefined();
    expect(privateFileProblem('/r/vm-1/client_key', file({ mode: 0o600 }), 1000, true)).toBeUndefined();
    expect(privateFileProblem('/r/vm-1/client_key', file({ mode: 0o400 }), 1000, true)).toBeUndefined();
  });

  it('refuses a symlink, a folder, a file of someone else', () => {
    const fix = 'remove the VM folder (rm -rf /r/vm-1); stop its QEMU yourself if one still runs';
    expect(
      privateFileProblem('/r/vm-1/qemu.pid', file({ kind: 'symlink', linkTarget: '/x' }), 1000, false),
    ).toEqual({ what: 'is a symlink to /x', fix });
    expect(privateFileProblem('/r/vm-1/owner', file({ kind: 'directory' }), 1000, false)?.what).toBe(
      'is not a regular file',
    );
    expect(privateFileProblem('/r/vm-1/owner', file({ kind: 'other' }), 1000, false)?.what).toBe(
      'is not a regular file',
    );
    expect(privateFileProblem('/r/vm-1/owner', file({ uid: 0 }), 1000, false)?.what).toBe(
      'is owned by uid 0, not by you (uid 1000)',
    );
  });

  it.each([
    ['0664', 0o664],
    ['0646', 0o646],
    ['0666', 0o666],
  ] as const)('refuses a state file with mode %s (group or other may write)', (_label, mode) => {
    expect(privateFileProblem('/r/vm-1/state.json', file({ mode }), 1000, false)?.what).toMatch(
      /group or others may write to it/,
    );
  });

  it.each([
    ['0640', 0o640],
    ['0604', 0o604],
    ['0644', 0o644],
  ] as const)('refuses a private key with mode %s (any group or other bit)', (_label, mode) => {
    expect(privateFileProblem('/r/vm-1/client_key', file({ mode }), 1000, true)?.what).toMatch(
      /a private key must not be open to group or others/,
    );
  });
});

describe('socketPathProblem (pure): the sockets must fit sun_path on every host', () => {
  const at = (n: number) => `/${'a'.repeat(n - 1)}`; // a path of n bytes
  it('each host OS states its limit: 108 on Linux, 104 on macOS, none on Windows (TCP)', () => {
    expect(['linux', 'darwin', 'win32'].map((os) => platformFor(os as 'linux').socketPathMax)).toEqual([
      108,
      104,
      undefined,
    ]);
  });
  it('Linux: 107 bytes fit, 108 do not (the NUL takes the last byte)', () => {
    expect(socketPathProblem([at(107)], 108)).toBeUndefined();
    expect(socketPathProblem([at(10), at(108)], 108)).toBe(
      `the QMP and secrets sockets would be at ${at(108)}, 108 bytes: longer than this host's limit of 107 for a Unix socket path, so QEMU could not listen there`,
    );
  });
  it('macOS: 103 bytes fit, 104 do not; bytes, not characters', () => {
    expect(socketPathProblem([at(103)], 104)).toBeUndefined();
    expect(socketPathProblem([at(104)], 104)).toMatch(/104 bytes: longer than this host's limit of 103/);
    // 52 two-byte characters: 52 characters, 105 bytes with the slash.
    expect(socketPathProblem([`/${'é'.repeat(52)}`], 104)).toMatch(/105 bytes/);
  });
  it('Windows: no Unix sockets, no limit', () => {
    expect(socketPathProblem([at(300)], undefined)).toBeUndefined();
  });
});

describe('runtimeDirChoice (pure)', () => {
  it('NSLAB_RUNTIME_DIR, else $XDG_RUNTIME_DIR/nslab-<uid>, else <tmpdir>/nslab-<uid>', () => {
    expect(runtimeDirChoice({ NSLAB_RUNTIME_DIR: '/a', XDG_RUNTIME_DIR: '/run/user/7' }, 7, '/tmp')).toEqual({
      dir: '/a',
      from: 'NSLAB_RUNTIME_DIR',
    });
    expect(runtimeDirChoice({ XDG_RUNTIME_DIR: '/run/user/7' }, 7, '/tmp')).toEqual({
      dir: '/run/user/7/nslab-7',
      from: 'XDG_RUNTIME_DIR',
    });
    expect(runtimeDirChoice({}, 7, '/tmp')).toEqual({ dir: '/tmp/nslab-7', from: 'TMPDIR' });
    expect(runtimeDirChoice({}, undefined, 'C:\\T').dir).toMatch(/nslab-user$/);
  });
});

// The real thing: folders, links and modes on this machine's filesystem.
const base = mkdtempSync(join(tmpdir(), 'nslab-rtdir-test-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const d = join(base, `case-${n++}`);
  mkdirSync(d, { mode: 0o700 });
  return d;
};
const uid = process.getuid?.();
const errorOf = (fn: () => unknown): EnvironmentError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof EnvironmentError) return error;
    throw error;
  }
  throw new Error('expected an EnvironmentError');
};

describe.runIf(uid !== undefined)(
  `runtimeDir on a real filesystem (POSIX hosts)${skipNote(uid !== undefined, 'POSIX hosts only')}`,
  () => {
    it('creates <tmpdir>/nslab-<uid> with mode 0700 even under umask 000', () => {
      const tmp = fresh();
      chmodSync(tmp, 0o1777);
      const old = process.umask(0);
      try {
        const got = runtimeDir({ XDG_RUNTIME_DIR: tmp });
        expect(got).toBe(join(tmp, `nslab-${uid}`));
        const st = lstatSync(got);
        expect(st.isDirectory()).toBe(true);
        expect(st.mode & 0o7777).toBe(0o700);
        expect(st.uid).toBe(uid);
        // A second call takes the folder it made.
        expect(runtimeDir({ XDG_RUNTIME_DIR: tmp })).toBe(got);
      } finally {
        process.umask(old);
      }
    });

    it('refuses a symlink planted where the folder goes, and creates nothing behind it', () => {
      const tmp = fresh();
      const open = join(tmp, 'world-writable');
      mkdirSync(open);
      chmodSync(open, 0o777);
      symlinkSync(open, join(tmp, `nslab-${uid}`));
      const e = errorOf(() => runtimeDir({ XDG_RUNTIME_DIR: tmp }));
      expect(e.exitCode).toBe(3);
      expect(e.message).toBe(
        `the runtime folder ${join(tmp, `nslab-${uid}`)} (from XDG_RUNTIME_DIR) is a symlink to ${open}: nslab keeps private keys there and will not use it`,
      );
      expect(e.hint).toMatch(/^remove the link \(rm .*\), or set XDG_RUNTIME_DIR/);
      expect(statSync(open).mode & 0o777).toBe(0o777); // not chmod'ed through the link
    });

    it('refuses a dangling symlink too (mkdir must not create its target)', () => {
      const tmp = fresh();
      symlinkSync(join(tmp, 'nowhere'), join(tmp, `nslab-${uid}`));
      expect(errorOf(() => runtimeDir({ XDG_RUNTIME_DIR: tmp })).message).toMatch(
        /is a symlink to .*nowhere/,
      );
      expect(() => lstatSync(join(tmp, 'nowhere'))).toThrow(/ENOENT/);
    });

    it.each([
      ['0750', 0o750],
      ['0705', 0o705],
      ['0777', 0o777],
    ] as const)('refuses NSLAB_RUNTIME_DIR with mode %s and leaves the mode alone', (_label, mode) => {
      const d = fresh();
      chmodSync(d, mode);
      const e = errorOf(() => runtimeDir({ NSLAB_RUNTIME_DIR: d }));
      expect(e.message).toContain(
        `the runtime folder ${d} (from NSLAB_RUNTIME_DIR) has mode 0${mode.toString(8)}`,
      );
      expect(e.hint).toBe(`chmod 700 ${d}, or point NSLAB_RUNTIME_DIR at a folder of yours with mode 0700`);
      expect(statSync(d).mode & 0o777).toBe(mode);
    });

    it('refuses a file where the folder goes', () => {
      const d = join(fresh(), 'f');
      writeFileSync(d, '');
      expect(errorOf(() => runtimeDir({ NSLAB_RUNTIME_DIR: d })).message).toContain('is not a folder');
    });

    it('creates missing parents of NSLAB_RUNTIME_DIR', () => {
      const d = join(fresh(), 'a', 'b');
      expect(runtimeDir({ NSLAB_RUNTIME_DIR: d })).toBe(d);
      expect(statSync(d).mode & 0o777).toBe(0o700);
    });
  },
);

describe.runIf(uid === 0)(
  `as root: a folder chowned to uid 65534 (needs root to chown)${skipNote(uid === 0, 'needs root')}`,
  () => {
    it('refuses the runtime folder and a VM folder owned by someone else', () => {
      const d = fresh();
      chownSync(d, 65534, 65534);
      const e = errorOf(() => runtimeDir({ NSLAB_RUNTIME_DIR: d }));
      expect(e.message).toContain(`${d} (from NSLAB_RUNTIME_DIR) is owned by uid 65534, not by you (uid 0)`);
      expect(e.hint).toContain(`have uid 65534 or root remove it (rm -rf ${d})`);
      const vm = join(fresh(), 'vm-ab12');
      mkdirSync(vm, { mode: 0o700 });
      chownSync(vm, 65534, 65534);
      expect(errorOf(() => checkVmDir(vm)).message).toBe(
        `the VM folder ${vm} is owned by uid 65534, not by you (uid 0): nslab does not trust what is in it`,
      );
    });

    it('refuses a file owned by someone else', async () => {
      const f = join(fresh(), 'owner');
      writeFileSync(f, '123', { mode: 0o600 });
      chownSync(f, 65534, 65534);
      await expect(readPrivateFile(f)).rejects.toThrow(/owner is owned by uid 65534, not by you \(uid 0\)/);
    });
  },
);

describe.runIf(uid !== undefined)(
  `VM folders and files read back (POSIX hosts)${skipNote(uid !== undefined, 'POSIX hosts only')}`,
  () => {
    it('checkVmDir: a symlinked or 0755 VM folder is refused, a 0700 one of ours is fine', () => {
      const root = fresh();
      const good = join(root, 'vm-aa');
      mkdirSync(good, { mode: 0o700 });
      expect(() => checkVmDir(good)).not.toThrow();
      symlinkSync(good, join(root, 'vm-bb'));
      expect(errorOf(() => checkVmDir(join(root, 'vm-bb'))).message).toMatch(/vm-bb is a symlink to .*vm-aa/);
      chmodSync(good, 0o755);
      expect(errorOf(() => checkVmDir(good)).hint).toBe(`chmod 700 ${good}`);
    });

    it('readPrivateFile: reads a good file, absent is undefined, refuses links and loose modes', async () => {
      const d = fresh();
      writeFileSync(join(d, 'state.json'), '{}', { mode: 0o600 });
      expect(await readPrivateFile(join(d, 'state.json'))).toBe('{}');
      expect(await readPrivateFile(join(d, 'missing'))).toBeUndefined();
      symlinkSync(join(d, 'state.json'), join(d, 'link'));
      await expect(readPrivateFile(join(d, 'link'))).rejects.toThrow(
        /link is a symlink to .*state\.json: nslab does not trust it/,
      );
      writeFileSync(join(d, 'loose'), '1', { mode: 0o600 });
      chmodSync(join(d, 'loose'), 0o666);
      await expect(readPrivateFile(join(d, 'loose'))).rejects.toThrow(/mode 0666: group or others may write/);
      writeFileSync(join(d, 'key'), 'k', { mode: 0o600 });
      chmodSync(join(d, 'key'), 0o640);
      await expect(readPrivateFile(join(d, 'key'), true)).rejects.toThrow(
        /mode 0640: a private key must not be open/,
      );
      expect(await readPrivateFile(join(d, 'key'))).toBe('k'); // not a secret: group read is fine
      mkdirSync(join(d, 'sub'));
      await expect(readPrivateFile(join(d, 'sub'))).rejects.toThrow(/is not a regular file/);
    });
  },
);
