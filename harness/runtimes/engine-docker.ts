import type { Preflight } from '../targets/preflight.ts';
import type { ContainerHandoff, Skip, Target, TargetInfo } from '../targets/types.ts';
import { dockerNamespaceFlags, dockerRefuses } from './docker.ts';
import type { IsolateRequest, Runtime, RuntimeInfo } from './types.ts';

/**
 * The docker runtime on a target that starts the containers itself (the engine target): the same flags as
 * docker.ts, handed to the target instead of a `docker run` in the probe. Its name is docker, so that the
 * scenarios' docker expectations (a containerd-shim parent) apply to it.
 */
export class EngineDockerRuntime implements Runtime {
  readonly name = 'docker' as const;
  private engine: ContainerHandoff | undefined;

  async prepare(
    target: Target,
    _info: TargetInfo,
    _preflight: Preflight | undefined,
  ): Promise<{ info: RuntimeInfo; skip?: Skip }> {
    if (!target.containers) throw new Error(`the ${target.kind} target starts no containers itself`);
    this.engine = target.containers;
    return { info: { name: 'docker', version: this.engine.version } };
  }

  refuses(request: IsolateRequest): Skip | undefined {
    return dockerRefuses(request);
  }

  isolateArgv(request: IsolateRequest): string[] {
    if (!this.engine) throw new Error('the docker runtime was not prepared');
    // Docker's default capabilities lack SYS_ADMIN; the same set as docker.ts gives its containers.
    return this.engine.handoff({
      flags: [...dockerNamespaceFlags(request), '--cap-add=SYS_ADMIN'],
      insideArgs: request.insideArgs,
    });
  }

  factsCommand(): undefined {
    // The helper container has no docker CLI to ask for inspect's PID.
    return undefined;
  }

  async close(): Promise<void> {
    this.engine = undefined;
  }
}
