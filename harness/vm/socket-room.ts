import { tmpdir } from 'node:os';
import { EnvironmentError } from '../errors.ts';
import { newVmId, runFile, runFolderPath } from './run-folder.ts';
import { runtimeDirChoice, shorterFolderHint, socketPathProblem } from './runtime-dir.ts';
import type { VmConfig } from './vm-config.ts';

/**
 * Throws EnvironmentError (exit 3) when a run folder's sockets under `root` would not fit the host's Unix
 * socket path limit: QEMU would fail to listen, and the failure would look like the accelerator's.
 */
export function checkSocketRoom(c: VmConfig, root: string): string {
  const dir = runFolderPath(root, newVmId()); // every id has the same length
  const problem = socketPathProblem(
    [runFile(dir, 'qmpSocket'), runFile(dir, 'secretsSocket')],
    c.platform.control === 'unix-socket' ? c.platform.socketPathMax : undefined,
  );
  if (problem)
    throw new EnvironmentError(
      problem,
      shorterFolderHint(runtimeDirChoice(process.env, process.getuid?.(), tmpdir()).from),
    );
  return root;
}
