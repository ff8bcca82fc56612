import type { Skip } from '../types.ts';

/** What probing this host found out about running namespaces here. Gathered by gatherAccessFacts. */
export interface AccessFacts {
  platform: NodeJS.Platform;
  uid: number;
  unshareFound: boolean;
  pidNamespaces: boolean;
  sudo: boolean;
  /** An unprivileged `unshare --user --map-root-user --pid --fork --mount-proc true` worked. */
  userns: boolean;
  /** /proc/sys/user/max_user_namespaces, when readable. */
  maxUserNamespaces?: number;
  /** Debian/Ubuntu's /proc/sys/kernel/unprivileged_userns_clone, when present. */
  unprivilegedUsernsClone?: number;
  /** Ubuntu 23.10+'s /proc/sys/kernel/apparmor_restrict_unprivileged_userns, when present. */
  apparmorRestrictsUserns?: number;
}

export type Access = { access: 'root' | 'sudo' | 'userns' } | { skip: Skip };

export function notLinux(platform: NodeJS.Platform): Skip {
  return {
    reason: 'not-linux',
    detail: `namespaces are a Linux kernel feature; this host is ${platform}`,
    hint: 'use --target vm',
  };
}

/** Decides how to get the privilege the probe needs, or which named reason forbids it. Pure. */
export function decideAccess(f: AccessFacts): Access {
  if (f.platform !== 'linux') return { skip: notLinux(f.platform) };
  if (!f.unshareFound) {
    return {
      skip: {
        reason: 'tool-missing:unshare',
        detail: 'no unshare command on PATH',
        hint: 'install util-linux (npm run setup does)',
      },
    };
  }
  if (!f.pidNamespaces) {
    return {
      skip: {
        reason: 'kernel-config:CONFIG_PID_NS',
        detail: 'this kernel has no /proc/self/ns/pid',
        hint: 'use a kernel built with CONFIG_PID_NS=y, or --target vm',
      },
    };
  }
  if (f.uid === 0) return { access: 'root' };
  if (f.sudo) return { access: 'sudo' };
  if (f.userns) return { access: 'userns' };
  if (f.apparmorRestrictsUserns === 1) {
    return {
      skip: {
        reason: 'apparmor-userns',
        detail:
          'AppArmor forbids unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1) and sudo -n is not available',
        hint: 'run as root, allow sudo without a password, or set kernel.apparmor_restrict_unprivileged_userns=0',
      },
    };
  }
  if (f.unprivilegedUsernsClone === 0 || f.maxUserNamespaces === 0) {
    return {
      skip: {
        reason: 'userns-disabled',
        detail: `unprivileged user namespaces are disabled (${f.unprivilegedUsernsClone === 0 ? 'kernel.unprivileged_userns_clone=0' : 'user.max_user_namespaces=0'}) and sudo -n is not available`,
        hint: 'run as root, allow sudo without a password, or enable user namespaces',
      },
    };
  }
  return {
    skip: {
      reason: 'needs-root',
      detail: 'not root, sudo -n is not available, and an unprivileged user namespace could not be made',
      hint: 'run as root or allow sudo without a password',
    },
  };
}

/**
 * A fixed script (no values pasted in) that prints key=value facts. The userns attempt is only made
 * when it matters: not root and no sudo.
 */
export const ACCESS_FACTS_SCRIPT = `
echo "uid=$(id -u)"
command -v unshare >/dev/null 2>&1 && echo unshare=1 || echo unshare=0
[ -e /proc/self/ns/pid ] && echo pidns=1 || echo pidns=0
for f in user/max_user_namespaces kernel/unprivileged_userns_clone kernel/apparmor_restrict_unprivileged_userns; do
  [ -r "/proc/sys/$f" ] && echo "$f=$(cat "/proc/sys/$f")"
done
if [ "$(id -u)" != 0 ]; then
  sudo -n true >/dev/null 2>&1 && echo sudo=1 || echo sudo=0
  unshare --user --map-root-user --pid --fork --mount-proc true >/dev/null 2>&1 && echo userns=1 || echo userns=0
fi
`;

export function parseAccessFacts(stdout: string, platform: NodeJS.Platform): AccessFacts {
  const kv = new Map(
    stdout
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()] as const),
  );
  const num = (k: string) => (kv.has(k) && /^\d+$/.test(kv.get(k)!) ? Number(kv.get(k)) : undefined);
  return {
    platform,
    uid: num('uid') ?? -1,
    unshareFound: kv.get('unshare') === '1',
    pidNamespaces: kv.get('pidns') === '1',
    sudo: kv.get('sudo') === '1',
    userns: kv.get('userns') === '1',
    maxUserNamespaces: num('user/max_user_namespaces'),
    unprivilegedUsernsClone: num('kernel/unprivileged_userns_clone'),
    apparmorRestrictsUserns: num('kernel/apparmor_restrict_unprivileged_userns'),
  };
}
