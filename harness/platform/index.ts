import { darwin } from './darwin.ts';
import { linux } from './linux.ts';
import type { HostOs, Platform } from './types.ts';
import { win32 } from './win32.ts';

export type { HostOs, PackageManager, Platform, StopStep } from './types.ts';

export const PLATFORMS: Record<HostOs, Platform> = { linux, darwin, win32 };

/**
 * The platform object for an OS name as Node reports it. The BSDs and other Unixes get Linux's rules (a
 * POSIX shell, Unix sockets, PATH); whether they have an accelerator is probed, and they have none.
 */
export function platformFor(os: NodeJS.Platform | HostOs): Platform {
  return os === 'darwin' || os === 'win32' ? PLATFORMS[os] : linux;
}

/** The platform of the machine this process runs on. */
export const hostPlatform: Platform = platformFor(process.platform);
