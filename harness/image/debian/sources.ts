/** One suite of a Debian mirror that the image's packages come from. */
export interface DebianSource {
  /** A name for its files in the cache (`debian_bookworm-updates`). */
  id: string;
  /** The mirror's root URL, without a trailing slash. */
  mirror: string;
  suite: string;
  component: string;
}

/** The mirrors; overridable for a local mirror, a proxy or a snapshot.debian.org date. */
export interface DebianMirrors {
  debian: string;
  security: string;
}

export const DEFAULT_MIRRORS: DebianMirrors = {
  debian: 'https://deb.debian.org/debian',
  security: 'https://deb.debian.org/debian-security',
};

/** The mirrors from NSLAB_DEBIAN_MIRROR and NSLAB_DEBIAN_SECURITY_MIRROR, else Debian's own. Pure. */
export function mirrorsFromEnv(env: Record<string, string | undefined>): DebianMirrors {
  const trim = (url: string) => url.replace(/\/+$/, '');
  return {
    debian: trim(env.NSLAB_DEBIAN_MIRROR || DEFAULT_MIRRORS.debian),
    security: trim(env.NSLAB_DEBIAN_SECURITY_MIRROR || DEFAULT_MIRRORS.security),
  };
}

/**
 * Debian 12 as a default sources.list has it: the release, its updates and its security fixes, `main` only.
 * The newest version of a package among the three is the one taken, as apt would.
 */
export function bookwormSources(mirrors: DebianMirrors): DebianSource[] {
  return [
    { id: 'debian_bookworm', mirror: mirrors.debian, suite: 'bookworm', component: 'main' },
    { id: 'debian_bookworm-updates', mirror: mirrors.debian, suite: 'bookworm-updates', component: 'main' },
    {
      id: 'debian-security_bookworm-security',
      mirror: mirrors.security,
      suite: 'bookworm-security',
      component: 'main',
    },
  ];
}
