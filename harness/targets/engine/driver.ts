import { DEFAULT_IMAGE_CACHE } from '../../paths.ts';
import type { TargetDriver } from '../driver.ts';
import { EngineTarget } from './target.ts';

/** The Docker engine the docker CLI talks to (DOCKER_HOST, or the current docker context), wherever it runs. */
export const engineDriver: TargetDriver = {
  kind: 'engine',
  summary:
    "engine (the Docker engine your docker CLI talks to: Docker Desktop's VM, colima, a native dockerd...)",
  // It is the user's own engine, not one nslab makes: only when asked for.
  inAll: () => false,
  runtimes: ['docker'],
  create: (o) =>
    new EngineTarget({
      cacheRoot: (o.cache as string | undefined) ?? DEFAULT_IMAGE_CACHE,
      log: (l) => process.stderr.write(`nslab: ${l}\n`),
    }),
};
