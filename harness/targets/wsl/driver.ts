import type { Command } from 'commander';
import type { TargetDriver } from '../driver.ts';
import { WslTarget } from './target.ts';

/** A WSL distribution on Windows: WSL 2's Linux kernel runs in a utility VM below it. */
export const wslDriver: TargetDriver = {
  kind: 'wsl',
  summary: 'wsl (a WSL distribution, Windows only)',
  inAll: (os) => os === 'win32',
  addOptions: (cmd: Command) =>
    cmd.option('--wsl-distro <name>', "wsl: the WSL distribution to run in (default: WSL's default one)"),
  create: (o) => new WslTarget({ distro: o.wslDistro as string | undefined }),
};
