import type { Preflight } from '../targets/preflight.ts';
import type { Skip, Target, TargetInfo } from '../targets/types.ts';
import { TIME_CLOCKS, type Namespace, type TimeOffsets } from '../vocabulary.ts';
import type { IsolateRequest, Runtime, RuntimeInfo } from './types.ts';

/**
 * util-linux and busybox `unshare` flags for each namespace. `pid` forks so that the child is PID 1; so
 * does `time`, a namespace made for children only: on older kernels (the VM's 6.1, unlike 6.18 here) exec
 * does not enter it, the shell stays outside, and its vfork fails ("Cannot fork": the kernel will not
 * share memory across time namespaces).
 */
const UNSHARE_FLAGS: Record<Namespace, string[]> = {
  pid: ['--pid', '--fork', '--mount-proc'],
  mnt: ['--mount'],
  uts: ['--uts'],
  ipc: ['--ipc'],
  net: ['--net'],
  user: ['--user', '--map-root-user'],
  cgroup: ['--cgroup'],
  time: ['--time', '--fork'],
};

/**
 * The unshare argv for a scenario, without duplicates, user namespace first (it must be created first),
 * and the time namespace's clock offsets (util-linux `--boottime`/`--monotonic`, seconds) after `--time`.
 * `fork: false` makes the PID namespace with a bare `--pid`: unshare execs the shell, which stays outside.
 */
export function unshareArgv(namespaces: readonly Namespace[], time?: TimeOffsets, fork = true): string[] {
  const ordered = [...new Set(namespaces)].sort((a, b) => (a === 'user' ? -1 : b === 'user' ? 1 : 0));
  // The loader allows `fork: false` only with pid and without time; checked here too, as for offsets.
  if (!fork && (!ordered.includes('pid') || ordered.includes('time')))
    throw new Error('fork: false needs the pid namespace and no time namespace');
  const flags = [
    ...new Set(ordered.flatMap((ns) => (ns === 'pid' && !fork ? ['--pid'] : UNSHARE_FLAGS[ns]))),
  ];
  const offsets = TIME_CLOCKS.flatMap((clock) => {
    const seconds = time?.[clock];
    return seconds === undefined ? [] : [`--${clock}`, String(seconds)];
  });
  // The loader allows offsets only with `time`; without it unshare would fail, so say so here instead.
  if (offsets.length > 0 && !ordered.includes('time'))
    throw new Error('time namespace offsets given without the time namespace');
  return ['unshare', ...flags, ...offsets];
}

/** The inside: a POSIX shell that evaluates the probe's inside script, which it finds in its environment. */
export const INSIDE_SHELL = ['sh', '-c', 'eval "$NSLAB_INNER"'];

/**
 * util-linux `unshare` (or BusyBox's) on the target itself: the isolated process is unshare's child, on
 * the target's own root filesystem. Rootless (access userns) it adds a user namespace that maps the caller
 * to root, which every other namespace then belongs to.
 */
export interface UnshareOptions {
  /** Words that run a POSIX shell for the inside, e.g. ['busybox', 'sh']; default sh. */
  shell?: string[];
  /** Add a user namespace that maps the caller to root; prepare() sets it from the target's access. */
  rootless?: boolean;
}

export class UnshareRuntime implements Runtime {
  readonly name = 'unshare' as const;
  private rootless: boolean;
  private readonly shell: string[];
  private version: string | undefined;

  constructor(options: UnshareOptions = {}) {
    this.rootless = options.rootless ?? false;
    this.shell = options.shell ?? ['sh'];
  }

  /** The preflight has already asked `unshare --version`; nothing else to prepare. */
  async prepare(
    _target: Target,
    info: TargetInfo,
    preflight: Preflight | undefined,
  ): Promise<{ info: RuntimeInfo; skip?: Skip }> {
    this.rootless = info.access === 'userns';
    this.version = preflight?.unshare;
    const runtime: RuntimeInfo = { name: 'unshare', version: preflight?.unshare ?? 'unknown' };
    if (preflight?.tools.unshare === false)
      return {
        info: runtime,
        skip: {
          reason: 'tool-missing:unshare',
          detail: 'unshare is not on PATH here',
          hint: 'install util-linux',
        },
      };
    return { info: runtime };
  }

  refuses(request: IsolateRequest): Skip | undefined {
    const busybox = /busybox/i.test(this.version ?? '');
    const lacking = request.namespaces.find((ns) => busybox && (ns === 'cgroup' || ns === 'time'));
    if (lacking === undefined) return undefined;
    return {
      reason: 'tool-missing:unshare',
      detail: `this unshare is BusyBox's (${this.version}), which cannot make a ${lacking} namespace`,
      hint: "install util-linux's unshare",
    };
  }

  isolateArgv(request: IsolateRequest): string[] {
    const namespaces = this.rootless ? ['user' as const, ...request.namespaces] : request.namespaces;
    return [
      ...unshareArgv(namespaces, request.time, request.fork),
      ...this.shell,
      ...INSIDE_SHELL.slice(1),
      ...request.insideArgs,
    ];
  }

  factsCommand(): undefined {
    return undefined;
  }

  async close(): Promise<void> {}
}
