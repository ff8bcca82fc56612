import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { ExitCode, NslabError } from '../errors.ts';
import { SocketForwarder, SshSession } from '../ssh/index.ts';
import { alive, sleep } from '../util/process.ts';
import { BootError, InterruptedError } from './errors.ts';
import { runFile } from './run-folder.ts';
import type { StartedVm } from './started-vm.ts';
import { writeState } from './state.ts';

/** Where dockerd listens in the guest (linuxkit-engine.yml's daemon.json): its loopback, which QEMU never forwards. */
export const GUEST_DOCKER_ADDRESS = { host: '127.0.0.1', port: 2375 } as const;

/** How long one GET /_ping may take before it counts as no answer and is tried again. */
const PING_GIVE_UP_MS = 5000;

/** The guest's Docker API as a Unix socket in the VM's run folder; close() is idempotent. */
export interface DockerSocket {
  path: string;
  close(): Promise<void>;
}

/**
 * Serves the guest's dockerd on <run folder>/docker.sock (0600, in the 0700 folder): every connection goes
 * through an SSH direct-tcpip channel to 127.0.0.1:2375 in the guest, on one SSH connection of its own. The
 * path goes into the VM's state.json as dockerSocket, so that a DOCKER_HOST leads back to this VM.
 */
export async function exposeDockerSocket(vm: StartedVm): Promise<DockerSocket> {
  const session = await SshSession.connect({
    host: '127.0.0.1',
    port: vm.state.sshPort,
    username: 'root',
    privateKey: await readFile(vm.state.clientKeyFile, 'utf8'),
    hostKeyBlob: Buffer.from(vm.state.hostKeyBlob, 'base64'),
  });
  const path = runFile(vm.dir, 'dockerSocket');
  let forwarder: SocketForwarder;
  try {
    forwarder = await SocketForwarder.listen(path, (h, p) => session.forwardOut(h, p), GUEST_DOCKER_ADDRESS);
  } catch (error) {
    session.close();
    throw error;
  }
  vm.state.dockerSocket = path;
  await writeState(vm.dir, vm.state);
  let closing: Promise<void> | undefined;
  return {
    path,
    close: () =>
      (closing ??= forwarder.close().finally(() => {
        session.close();
      })),
  };
}

/** One GET /_ping over the socket: true when dockerd answers 200 OK. */
export function pingDocker(socketPath: string, timeoutMs = PING_GIVE_UP_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d.slice(0, 16)));
      res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'OK'));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * Waits until dockerd answers GET /_ping through `socketPath`. Throws InterruptedError on `signal`, BootError
 * when QEMU is gone, and EnvironmentError (with the guest's dockerd log tail) past `timeoutMs`.
 */
export async function waitForDocker(
  vm: StartedVm,
  socketPath: string,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<void> {
  const until = performance.now() + options.timeoutMs;
  for (;;) {
    if (options.signal?.aborted) throw new InterruptedError('the wait for dockerd');
    if (!alive(vm.pid)) throw new BootError(`QEMU exited before dockerd answered`, await vm.console());
    if (await pingDocker(socketPath)) return;
    if (performance.now() > until) break;
    await sleep(250);
  }
  const log = await vm
    .exec('tail -n 15 /var/log/dockerd.log', { signal: AbortSignal.timeout(10_000) })
    .then((r) => r.stdout.trim())
    .catch((error: unknown) => `(could not read it: ${(error as Error).message})`);
  throw new NslabError(
    `dockerd in ${vm.state.name} did not answer GET /_ping within ${Math.round(options.timeoutMs / 1000)} s\n--- the guest's /var/log/dockerd.log ---\n${log}`,
    {
      exitCode: ExitCode.failed,
      hint: 'pass a longer --ready-timeout (under TCG dockerd takes a while), or look at the log above',
    },
  );
}
