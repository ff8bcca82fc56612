import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  type Stats,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { EnvironmentError } from '../errors.ts';

/** What lstat (or fstat on a descriptor opened without following links) says about a path. */
export interface PathFacts {
  kind: 'directory' | 'file' | 'symlink' | 'other';
  uid: number;
  /** The permission bits (mode & 0o777). */
  mode: number;
  /** Where a symlink points, for the message. */
  linkTarget?: string;
}

/** Why a path may not be trusted (`<path> <what>`), and what the user can do about it. */
export interface Problem {
  what: string;
  fix: string;
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8).padStart(3, '0')}`;

/**
 * A folder that holds private keys and control sockets: not a symlink, a folder, owned by this user, mode
 * exactly 0700. As tmux checks its socket folder (make_label in tmux.c: mkdir 0700, then lstat S_ISDIR,
 * st_uid, no other bits) and OpenSSH its paths (safe_path in misc.c), stricter on group bits. Pure.
 */
export function privateDirProblem(path: string, facts: PathFacts, uid: number): Problem | undefined {
  if (facts.kind === 'symlink')
    return {
      what: `is a symlink to ${facts.linkTarget ?? '(unreadable)'}`,
      fix: `remove the link (rm ${path})`,
    };
  if (facts.kind !== 'directory') return { what: 'is not a folder', fix: `remove it (rm ${path})` };
  if (facts.uid !== uid)
    return {
      what: `is owned by uid ${facts.uid}, not by you (uid ${uid})`,
      fix: `have uid ${facts.uid} or root remove it (rm -rf ${path})`,
    };
  if (facts.mode !== 0o700)
    return {
      what: `has mode ${octal(facts.mode)}${facts.mode & 0o077 ? ', with group or other bits' : ''}; it must be 0700`,
      fix: `chmod 700 ${path}`,
    };
  return undefined;
}

/**
 * A file read back from a VM folder: a regular file (not a symlink), owned by this user, not writable by group
 * or others (OpenSSH's safe_path); a private key not even readable by them (OpenSSH's sshkey_perm_ok). Pure.
 */
export function privateFileProblem(
  path: string,
  facts: PathFacts,
  uid: number,
  secret: boolean,
): Problem | undefined {
  const fix = `remove the VM folder (rm -rf ${dirname(path)}); stop its QEMU yourself if one still runs`;
  if (facts.kind === 'symlink') return { what: `is a symlink to ${facts.linkTarget ?? '(unreadable)'}`, fix };
  if (facts.kind !== 'file') return { what: 'is not a regular file', fix };
  if (facts.uid !== uid) return { what: `is owned by uid ${facts.uid}, not by you (uid ${uid})`, fix };
  const bad = facts.mode & (secret ? 0o077 : 0o022);
  if (bad)
    return {
      what: `has mode ${octal(facts.mode)}: ${secret ? 'a private key must not be open to group or others' : 'group or others may write to it'}`,
      fix,
    };
  return undefined;
}

/** Which runtime folder to use and where that choice came from. Pure. */
export function runtimeDirChoice(
  env: NodeJS.ProcessEnv,
  uid: number | undefined,
  tmp: string,
): { dir: string; from: 'NSLAB_RUNTIME_DIR' | 'XDG_RUNTIME_DIR' | 'TMPDIR' } {
  if (env.NSLAB_RUNTIME_DIR) return { dir: env.NSLAB_RUNTIME_DIR, from: 'NSLAB_RUNTIME_DIR' };
  const name = `nslab-${uid ?? 'user'}`;
  if (env.XDG_RUNTIME_DIR) return { dir: join(env.XDG_RUNTIME_DIR, name), from: 'XDG_RUNTIME_DIR' };
  return { dir: join(tmp, name), from: 'TMPDIR' };
}

function factsOf(st: Stats, path: string): PathFacts {
  const kind = st.isSymbolicLink()
    ? 'symlink'
    : st.isDirectory()
      ? 'directory'
      : st.isFile()
        ? 'file'
        : 'other';
  let linkTarget: string | undefined;
  if (kind === 'symlink') {
    try {
      linkTarget = readlinkSync(path);
    } catch {
      // gone again: the message says "(unreadable)"
    }
  }
  return { kind, uid: st.uid, mode: st.mode & 0o777, linkTarget };
}

/** lstat as facts; undefined when nothing is there. */
export function pathFacts(path: string): PathFacts | undefined {
  try {
    return factsOf(lstatSync(path), path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

const uid = () => process.getuid?.();

/**
 * Where running VMs keep their per-boot files (keys, console log, QMP socket, pidfile): private to this user,
 * outside the project, so that no key ever lands in vm-images/ or in git. Short, for Unix socket paths.
 * Created 0700 if missing; refused (EnvironmentError) if what is there is not a private folder of ours.
 */
export function runtimeDir(env: NodeJS.ProcessEnv = process.env): string {
  const me = uid();
  const { dir, from } = runtimeDirChoice(env, me, tmpdir());
  // Windows has no POSIX owner or mode; its temp folder is per user already.
  if (me === undefined) {
    mkdirSync(dir, { recursive: true });
    return dir;
  }
  try {
    mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
    // mkdir never follows a symlink and fails on anything already there; a umask only takes bits away,
    // so what it creates is at most 0700. Whatever was there is checked below, never chmod'ed.
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new EnvironmentError(
        `cannot create the runtime folder ${dir} (from ${from}): ${(error as Error).message}`,
        otherFolderHint(from),
        error,
      );
  }
  let facts: PathFacts | undefined;
  try {
    facts = pathFacts(dir);
  } catch (error) {
    throw new EnvironmentError(
      `cannot inspect the runtime folder ${dir} (from ${from}): ${(error as Error).message}`,
      otherFolderHint(from),
      error,
    );
  }
  const problem = facts
    ? privateDirProblem(dir, facts, me)
    : { what: 'vanished right after it was created', fix: 'run again' };
  if (problem)
    throw new EnvironmentError(
      `the runtime folder ${dir} (from ${from}) ${problem.what}: nslab keeps private keys there and will not use it`,
      `${problem.fix}, or ${otherFolderHint(from)}`,
    );
  return dir;
}

/** Where else the runtime folder can go, given where this one came from. */
export function otherFolderHint(from: string): string {
  return from === 'NSLAB_RUNTIME_DIR'
    ? 'point NSLAB_RUNTIME_DIR at a folder of yours with mode 0700'
    : 'set XDG_RUNTIME_DIR (or NSLAB_RUNTIME_DIR) to a folder of yours with mode 0700';
}

/**
 * The first socket path that does not fit the host's `sun_path` (its bytes plus the NUL), as an error
 * message; undefined when all fit or the host uses TCP. Pure.
 */
export function socketPathProblem(paths: readonly string[], max: number | undefined): string | undefined {
  if (max === undefined) return undefined;
  const long = paths.find((p) => Buffer.byteLength(p) + 1 > max);
  if (!long) return undefined;
  return `the QMP and secrets sockets would be at ${long}, ${Buffer.byteLength(long)} bytes: longer than this host's limit of ${max - 1} for a Unix socket path, so QEMU could not listen there`;
}

/** What to do about a runtime folder whose socket paths are too long. */
export function shorterFolderHint(from: string): string {
  return from === 'NSLAB_RUNTIME_DIR'
    ? 'point NSLAB_RUNTIME_DIR at a shorter folder of yours (mode 0700), e.g. /tmp/nslab'
    : `the folder comes from ${from}: set NSLAB_RUNTIME_DIR to a shorter folder of yours (mode 0700), e.g. /tmp/nslab`;
}

/** A VM's folder inside the runtime folder, checked like the runtime folder itself; throws when it fails. */
export function checkVmDir(dir: string): void {
  const me = uid();
  if (me === undefined) return;
  const facts = pathFacts(dir);
  const problem = facts && privateDirProblem(dir, facts, me);
  if (problem)
    throw new EnvironmentError(
      `the VM folder ${dir} ${problem.what}: nslab does not trust what is in it`,
      problem.fix,
    );
}

/**
 * Reads a file from a VM folder after checking the very file it opened (no symlink followed, fstat on the
 * descriptor, so nothing can be swapped in between). Undefined when it is absent; throws when it fails.
 */
export async function readPrivateFile(path: string, secret = false): Promise<string | undefined> {
  const me = uid();
  if (me === undefined) return readFile(path, 'utf8').catch(() => undefined);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code !== 'ELOOP') throw error;
    fd = -1;
  }
  try {
    const facts = fd < 0 ? pathFacts(path) : factsOf(fstatSync(fd), path);
    const problem = facts && privateFileProblem(path, facts, me, secret);
    if (problem) throw new EnvironmentError(`${path} ${problem.what}: nslab does not trust it`, problem.fix);
    if (fd < 0) return undefined;
    return readFileSync(fd, 'utf8');
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
