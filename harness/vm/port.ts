import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (QEMU may still lose a race for it: boot retries). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Which of QEMU's ports another process took between freePort() and QEMU's bind, from QEMU's stderr: the
 * SSH forward (slirp cannot set up the rule), or the QMP socket on 127.0.0.1 (Windows, where QMP is TCP:
 * "Address already in use", or Winsock's "Only one usage of each socket address"). Pure.
 */
export function takenPort(stderr: string): 'ssh' | 'qmp' | undefined {
  if (/Could not set up host forwarding rule/.test(stderr)) return 'ssh';
  if (/-qmp tcp:[^\n]*(Address already in use|Only one usage of each socket address)/i.test(stderr))
    return 'qmp';
  return undefined;
}
