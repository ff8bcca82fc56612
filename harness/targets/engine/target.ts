import { randomBytes } from 'node:crypto';
import { execa, type ResultPromise } from 'execa';
import { CappedRecords, CappedText, PROBE_FIELD_LIMIT, STDERR_LIMIT } from '../../util/capped-output.ts';
import { ARCHES, type Arch } from '../../image/arch.ts';
import { hostKernel, hostModel, hostUname } from '../host-facts.ts';
import type { ContainerHandoff, HandoffSpec, ProbeRun, Skip, Target, TargetInfo } from '../types.ts';
import type { KernelIdentity } from '../../vocabulary.ts';
import { detectBackend, engineArch, type EngineFacts } from './backend.ts';
import { DockerCli, lastLine } from './docker-cli.ts';
import { ENTRY_SH, HANDOFF_SH, HELPER_FLAGS, isolateFailedRecords, VOLUME_DIR } from './handoff.ts';
import { ensureRootImage } from './root-image.ts';
import { engineVmProcess } from './vm-process-facts.ts';

export interface EngineTargetOptions {
  /** The image cache, whose debian/ folder holds the busybox-static package. */
  cacheRoot: string;
  /** The docker CLI; default `docker` on PATH. Tests pass a stand-in. */
  docker?: string;
  log?: (line: string) => void;
}

/** The engine's kernel, as the helper container reads it from the VM's /proc (uname -s -r -v -m). */
const KERNEL_SH = `read -r s < /proc/sys/kernel/ostype; read -r r < /proc/sys/kernel/osrelease
read -r v < /proc/sys/kernel/version; printf '%s\\n%s\\n%s\\n%s\\n' "$s" "$r" "$v" "$(uname -m)"; uname -a`;

/**
 * The Docker engine the `docker` CLI talks to, wherever it runs: a native dockerd, or one in Docker Desktop's,
 * OrbStack's, colima's or nslab's own VM. Each scenario's isolated process is a container of that engine;
 * the outside view is read from a helper container that shares the engine VM's PID namespace. Three
 * layers where the engine is in a VM: the container, the engine's VM, and the VM's process on this host.
 */
export class EngineTarget implements Target, ContainerHandoff {
  readonly kind = 'engine' as const;
  readonly containers = this;
  image = '';
  version = 'unknown';
  private readonly docker: DockerCli;
  /** Labels this run's containers, so that close() finds any left behind. */
  private readonly token = randomBytes(6).toString('hex');
  private pending: HandoffSpec | undefined;
  private readonly volumes = new Set<string>();
  private readonly cleanups = new Set<Promise<unknown>>();

  constructor(private readonly options: EngineTargetOptions) {
    this.docker = new DockerCli(options.docker ?? 'docker');
  }

  async prepare(signal?: AbortSignal): Promise<{ info: TargetInfo; skip?: Skip }> {
    const hostFacts = Promise.all([hostUname(), hostModel()]);
    const [context, info, version] = await Promise.all([
      this.docker.json(['context', 'inspect'], signal),
      this.docker.json(['info', '--format', '{{json .}}'], signal),
      this.docker.json(['version', '--format', '{{json .}}'], signal),
    ]);
    const [uname, model] = await hostFacts;
    const base: TargetInfo = {
      kind: 'engine',
      uname: '',
      os: 'linux',
      column: 'Docker engine',
      host: { uname, os: process.platform, kernel: hostKernel(), ...(model ? { model } : {}) },
    };
    const infoValue = info.value as Record<string, unknown> | undefined;
    if (!infoValue || typeof infoValue !== 'object' || infoValue.ServerErrors) {
      const why = info.error ?? String((infoValue?.ServerErrors as unknown[] | undefined)?.[0] ?? '');
      const missing = /ENOENT|not found|spawn/.test(why);
      return {
        info: base,
        skip: missing
          ? {
              reason: 'tool-missing:docker',
              detail: 'the docker CLI is not on PATH',
              hint: 'install Docker (the CLI and an engine)',
            }
          : {
              reason: 'runtime-unavailable:docker',
              detail: `no Docker engine answers the docker CLI: ${why}`,
              hint: 'start your engine (Docker Desktop, colima start, nslab engine up ...), or check DOCKER_HOST and docker context ls',
            },
      };
    }
    const facts: EngineFacts = {
      ...(Array.isArray(context.value) && context.value[0]
        ? { context: context.value[0] as EngineFacts['context'] }
        : {}),
      ...(process.env.DOCKER_HOST ? { dockerHost: process.env.DOCKER_HOST } : {}),
      info: infoValue,
      ...(version.value ? { version: version.value as Record<string, unknown> } : {}),
      hostOs: process.platform,
    };
    const backend = detectBackend(facts);
    const serverVersion =
      serverLine(facts.version) ?? `Docker Engine ${String(infoValue.ServerVersion ?? 'unknown')}`;
    this.version = serverVersion;
    const arch = rootArch(infoValue.Architecture);
    const engine = {
      backend: backend.id,
      name: backend.name,
      runsIn: backend.runsIn,
      evidence: backend.evidence,
      ...(facts.context?.Name ? { context: facts.context.Name } : {}),
      ...(facts.context?.Endpoints?.docker?.Host ? { host: facts.context.Endpoints.docker.Host } : {}),
      ...(facts.dockerHost ? { host: facts.dockerHost } : {}),
      serverVersion,
      ...(typeof infoValue.OperatingSystem === 'string'
        ? { operatingSystem: infoValue.OperatingSystem }
        : {}),
      ...(typeof infoValue.KernelVersion === 'string' ? { kernelVersion: infoValue.KernelVersion } : {}),
      pidHost: true,
    };
    base.engine = engine;
    base.column = backend.column;
    if (!arch)
      return {
        info: base,
        skip: {
          reason: 'engine-arch',
          detail: `the engine's architecture ${JSON.stringify(infoValue.Architecture)} is not one nslab has a root for (x86_64, aarch64)`,
        },
      };
    if (backend.pidHostForbidden) {
      engine.pidHost = false;
      return {
        info: base,
        skip: { reason: 'engine-forbids:pid-host', detail: backend.pidHostForbidden.reason },
      };
    }
    this.image = await ensureRootImage(this.docker, arch, this.options.cacheRoot, this.options.log);
    // The engine VM's kernel, from the VM's side; a refusal of --pid=host (Enhanced Container Isolation) ends here.
    const k = await this.docker.run(
      [
        'run',
        '--rm',
        '--pull=never',
        '--label',
        `nslab.run=${this.token}`,
        ...HELPER_FLAGS,
        this.image,
        '/bin/sh',
        '-c',
        KERNEL_SH,
      ],
      { signal, timeoutMs: 120_000 },
    );
    if (k.exitCode !== 0) {
      engine.pidHost = false;
      return {
        info: base,
        skip: {
          reason: 'engine-forbids:pid-host',
          detail: `the engine refused a helper container with ${HELPER_FLAGS.join(' ')}: ${lastLine(k.stderr) || `exit ${k.exitCode}`}`,
          hint: "Docker Desktop's Enhanced Container Isolation forbids --pid=host; the outside view needs it",
        },
      };
    }
    const [name = '', release = '', kversion = '', machine = '', ...rest] = k.stdout.split('\n');
    const vmKernel: KernelIdentity = { name, release, version: kversion, machine };
    base.uname = rest.join('\n').trim();
    // Where the outside is seen: on this host's own kernel (a native daemon), or in a VM below the container.
    const own = hostKernel();
    const sameAsHost =
      process.platform === 'linux' && own.release === vmKernel.release && own.version === vmKernel.version;
    base.observer = sameAsHost ? 'host' : 'vm';
    base.access = 'root';
    if (base.host)
      base.host.vmProcess = sameAsHost
        ? { notVisible: "no VM: the engine runs on this host's own kernel" }
        : await engineVmProcess(backend, facts);
    return { info: base };
  }

  handoff(spec: HandoffSpec): string[] {
    this.pending = spec;
    return ['sh', '-c', HANDOFF_SH, 'nslab-handoff'];
  }

  async runProbe(script: string, args: readonly string[], signal?: AbortSignal): Promise<ProbeRun> {
    if (!this.image) throw new Error('the engine target was not prepared');
    const spec = this.pending;
    this.pending = undefined;
    const id = randomBytes(5).toString('hex');
    const label = ['--label', `nslab.run=${this.token}`];
    const names = [`nslab-h-${id}`, ...(spec ? [`nslab-i-${id}`] : [])];
    const volume = spec ? `nslab-v-${id}` : undefined;
    const mount = volume
      ? ['--mount', `type=volume,src=${volume},dst=${VOLUME_DIR}`, '-e', `TMPDIR=${VOLUME_DIR}`]
      : [];
    if (volume) this.volumes.add(volume);
    const started = performance.now();
    const helper = this.spawn(
      [
        'run',
        '--rm',
        '-i',
        '--pull=never',
        '--name',
        names[0]!,
        ...label,
        ...HELPER_FLAGS,
        ...mount,
        this.image,
        '/bin/sh',
        '-s',
        '--',
        ...args,
      ],
      script,
    );
    const stdout = new CappedRecords(PROBE_FIELD_LIMIT);
    const stderr = new CappedText(STDERR_LIMIT);
    helper.stdout?.on('data', (d: Buffer) => stdout.push(d));
    helper.stderr?.on('data', (d: Buffer) => stderr.push(d));
    // Started alongside the helper: it waits for the probe's folder on the shared volume.
    let isolatedFailed: { exitCode: number; stderr: string } | undefined;
    const isolated = spec
      ? this.docker
          .run(
            [
              'run',
              '--rm',
              '--pull=never',
              '--name',
              names[1]!,
              ...label,
              ...spec.flags,
              '--mount',
              `type=volume,src=${volume},dst=${VOLUME_DIR}`,
              this.image,
              '/bin/sh',
              '-c',
              ENTRY_SH,
              ...spec.insideArgs,
            ],
            { signal },
          )
          .then((r) => {
            // 137: SIGKILLed by the probe once it has looked, the way every isolated process ends.
            if (r.exitCode !== 0 && r.exitCode !== 137 && !signal?.aborted) {
              isolatedFailed = { exitCode: r.exitCode, stderr: r.stderr.trim() };
              void this.removeContainers([names[0]!]);
            }
          })
      : Promise.resolve();
    const stop = () => void this.removeContainers(names);
    signal?.addEventListener('abort', stop, { once: true });
    try {
      const [result] = await Promise.all([helper, isolated]);
      const failed = isolatedFailed as { exitCode: number; stderr: string } | undefined;
      if (failed)
        return {
          stdout: isolateFailedRecords(failed.exitCode, failed.stderr),
          stderr: '',
          exitCode: 0,
          durationMs: performance.now() - started,
        };
      return {
        stdout: stdout.text(),
        stderr: stderr.text(),
        exitCode: result.exitCode ?? 1,
        durationMs: performance.now() - started,
      };
    } finally {
      signal?.removeEventListener('abort', stop);
      if (signal?.aborted) await this.removeContainers(names);
      if (volume)
        this.track(this.docker.run(['volume', 'rm', '-f', volume]).then(() => this.volumes.delete(volume)));
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.cleanups);
    const left = await this.docker.run(['ps', '-aq', '--filter', `label=nslab.run=${this.token}`]);
    const ids = left.stdout.split('\n').filter(Boolean);
    if (ids.length > 0) await this.docker.run(['rm', '-f', ...ids]);
    if (this.volumes.size > 0) await this.docker.run(['volume', 'rm', '-f', ...this.volumes]);
    this.volumes.clear();
  }

  private spawn(
    args: string[],
    input: string,
  ): ResultPromise<{ input: string; reject: false; buffer: false; encoding: 'buffer' }> {
    return execa(this.docker.command, args, { input, reject: false, buffer: false, encoding: 'buffer' });
  }

  private removeContainers(names: string[]): Promise<unknown> {
    return this.track(this.docker.run(['rm', '-f', ...names]));
  }

  private track<T>(p: Promise<T>): Promise<T> {
    const tracked = p.finally(() => this.cleanups.delete(tracked));
    this.cleanups.add(tracked);
    return tracked;
  }
}

/** docker version's server line: "Docker Engine 27.3.1", "Podman Engine 5.2.2"; undefined without one. */
function serverLine(version: Record<string, unknown> | undefined): string | undefined {
  const server = version?.Server as
    { Components?: { Name?: string; Version?: string }[]; Version?: string } | undefined;
  const first = server?.Components?.[0];
  // Docker names its component plain "Engine" (Podman: "Podman Engine").
  if (first?.Name && first.Version)
    return `${first.Name === 'Engine' ? 'Docker Engine' : first.Name} ${first.Version}`;
  return server?.Version ? `Docker Engine ${server.Version}` : undefined;
}

/** The engine's architecture, where nslab has a root for it (backend.ts words it as uname -m does). */
function rootArch(value: unknown): Arch | undefined {
  const arch = engineArch(value);
  return (ARCHES as readonly string[]).includes(arch ?? '') ? (arch as Arch) : undefined;
}
