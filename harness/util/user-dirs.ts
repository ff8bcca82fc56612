import { homedir } from 'node:os';
import { join, posix, win32 } from 'node:path';

/**
 * Where nslab keeps what it learned about this host between runs (e.g. which accelerator works), per the
 * platform's convention: $XDG_STATE_HOME (default ~/.local/state) on Linux, ~/Library/Application Support on
 * macOS, %LOCALAPPDATA% on Windows. Pure, so that every host's answer is tested here.
 */
export function userStateDir(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): string {
  if (platform === 'win32')
    return win32.join(env.LOCALAPPDATA ?? win32.join(home, 'AppData', 'Local'), 'nslab');
  if (platform === 'darwin') return posix.join(home, 'Library', 'Application Support', 'nslab');
  // XDG: a relative value is invalid and must be ignored.
  const xdg = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : undefined;
  return join(xdg ?? join(home, '.local', 'state'), 'nslab');
}
