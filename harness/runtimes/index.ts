import type { RuntimeName } from '../vocabulary.ts';
import { DockerRuntime } from './docker.ts';
import { RuncRuntime } from './runc.ts';
import type { Runtime } from './types.ts';
import { UnshareRuntime } from './unshare.ts';

export type { IsolateRequest, Runtime, RuntimeFacts, RuntimeInfo } from './types.ts';
export { parseRuntimeFacts } from './types.ts';
export { INSIDE_SHELL, unshareArgv, UnshareRuntime } from './unshare.ts';
export { DockerRuntime } from './docker.ts';
export { RuncRuntime } from './runc.ts';

/** A fresh runtime of that name; one per target, since each keeps what it prepared there. */
export function createRuntime(name: RuntimeName): Runtime {
  switch (name) {
    case 'unshare':
      return new UnshareRuntime();
    case 'runc':
      return new RuncRuntime();
    case 'docker':
      return new DockerRuntime();
  }
}
