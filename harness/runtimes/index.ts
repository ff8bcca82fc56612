import type { RuntimeName } from '../vocabulary.ts';
import { DockerRuntime } from './docker.ts';
import { RuncRuntime } from './runc.ts';
import type { Runtime } from './types.ts';
import type { Target } from '../targets/types.ts';
import { EngineDockerRuntime } from './engine-docker.ts';
import { UnshareRuntime } from './unshare.ts';

export type { IsolateRequest, Runtime, RuntimeFacts, RuntimeInfo } from './types.ts';
export { parseRuntimeFacts } from './types.ts';
export { INSIDE_SHELL, unshareArgv, UnshareRuntime } from './unshare.ts';
export { DockerRuntime } from './docker.ts';
export { RuncRuntime } from './runc.ts';
export { EngineDockerRuntime } from './engine-docker.ts';

/**
 * A fresh runtime of that name; one per target, since each keeps what it prepared there. Docker on a target
 * that starts its containers itself (the engine) hands them to it instead of running `docker` in the probe.
 */
export function createRuntime(name: RuntimeName, target?: Target): Runtime {
  if (name === 'docker' && target?.containers) return new EngineDockerRuntime();
  switch (name) {
    case 'unshare':
      return new UnshareRuntime();
    case 'runc':
      return new RuncRuntime();
    case 'docker':
      return new DockerRuntime();
  }
}
