import { execa } from 'execa';
import { win32 as winPath } from 'node:path';
import { findOnPath } from '../../util/find-on-path.ts';
import { platformFor } from '../../platform/index.ts';
import { hostKernel, hostModel, hostUname } from '../host-facts.ts';
import { NativeTarget } from '../native/target.ts';
import { osName } from '../../vocabulary.ts';
import type { ProbeRun, Skip, Target, TargetInfo } from '../types.ts';

export interface WslTargetOptions {
  /** The WSL distribution; default: the user's default distribution. */
  distro?: string;
  /** wsl.exe itself; default: found on Path or in System32. Tests pass a stand-in that records its argv. */
  wsl?: string;
  /** The host OS; default this one. Tests set 'win32' to run the stand-in on Linux. */
  platform?: NodeJS.Platform;
}

/**
 * What nslab sends to wsl.exe before the command: the distribution, root (WSL lets the Windows user be root
 * in their own distribution without a password), and `--exec`, which runs the command without a shell in
 * between, so nothing is interpolated. Pure.
 */
export function wslPrefix(wsl: string, distro?: string): string[] {
  return [wsl, ...(distro ? ['--distribution', distro] : []), '--user', 'root', '--exec'];
}

/** WSL_UTF8=1: wsl.exe's own messages in UTF-8 instead of UTF-16 (WSL 0.64 and later). */
const WSL_ENV = { WSL_UTF8: '1' };

/** Where wsl.exe is: on Path, else in System32 (a Path without it is common in CI shells). */
function findWsl(env: NodeJS.ProcessEnv): string | undefined {
  const win = platformFor('win32');
  const system32 = winPath.join(env.SystemRoot ?? env.windir ?? 'C:\\Windows', 'System32');
  return findOnPath('wsl.exe', [...win.pathDirs(env), system32], win);
}

/**
 * Runs the native scenarios inside a WSL distribution on Windows. WSL 2's kernel is itself a VM's kernel
 * (Microsoft's, in a utility VM), so the report gets a third column: the container shares WSL's Linux
 * kernel, and Windows is the layer below it.
 */
export class WslTarget implements Target {
  readonly kind = 'wsl' as const;
  private inner: NativeTarget | undefined;
  private readonly options: WslTargetOptions;

  constructor(options: WslTargetOptions = {}) {
    this.options = options;
  }

  async prepare(signal?: AbortSignal): Promise<{ info: TargetInfo; skip?: Skip }> {
    const platform = this.options.platform ?? process.platform;
    const host = { uname: await hostUname(platform === 'win32' ? 'win32' : platform), os: platform };
    const layout = { column: `WSL on ${osName(platform)}`, observer: 'vm' } as const;
    const info: TargetInfo = { kind: 'wsl', uname: host.uname, os: 'linux', ...layout, host };
    if (platform !== 'win32')
      return {
        info,
        skip: {
          reason: 'not-windows',
          detail: `WSL exists only on Windows; this host is ${platform}`,
          hint: 'use --target native or vm',
        },
      };
    const wsl = this.options.wsl ?? findWsl(process.env);
    if (!wsl)
      return {
        info,
        skip: {
          reason: 'tool-missing:wsl',
          detail: 'wsl.exe is not on Path or in System32',
          hint: 'install WSL (wsl --install) and a distribution',
        },
      };
    const prefix = wslPrefix(wsl, this.options.distro);
    const uname = await execa(prefix[0]!, [...prefix.slice(1), 'uname', '-a'], {
      reject: false,
      env: WSL_ENV,
      cancelSignal: signal,
      timeout: 120_000,
    });
    if (uname.exitCode !== 0) {
      const said = `${uname.stderr}\n${uname.stdout}`.trim().split('\n').slice(-3).join(' ');
      return {
        info,
        skip: {
          reason: 'wsl-unavailable',
          detail: `wsl.exe could not run a command${this.options.distro ? ` in ${this.options.distro}` : ''}: ${said || `exit ${uname.exitCode}`}`,
          hint: 'wsl --list --verbose shows the distributions; wsl --install -d Debian adds one',
        },
      };
    }
    this.inner = new NativeTarget({ prefix: prefix, env: WSL_ENV, extendEnv: true, platform: 'linux' });
    const prepared = await this.inner.prepare(signal);
    // The real host's kernel and model, only when it is this machine (a test pretends to be Windows).
    const real = platform === process.platform;
    const model = real ? await hostModel(platform) : undefined;
    const kernel = real ? hostKernel() : undefined;
    return {
      info: {
        ...prepared.info,
        kind: 'wsl',
        uname: uname.stdout.trim(),
        os: 'linux',
        ...layout,
        host: { ...host, ...(kernel ? { kernel } : {}), ...(model ? { model } : {}) },
      },
      ...(prepared.skip ? { skip: prepared.skip } : {}),
    };
  }

  runProbe(script: string, args: readonly string[], signal?: AbortSignal): Promise<ProbeRun> {
    if (!this.inner) throw new Error('WslTarget.runProbe before a successful prepare()');
    return this.inner.runProbe(script, args, signal);
  }

  async close(): Promise<void> {
    await this.inner?.close();
  }
}
