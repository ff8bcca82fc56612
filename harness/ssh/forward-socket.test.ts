import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SocketForwarder, type StreamOpener } from './forward-socket.ts';

// The forwarder with a TCP connection standing in for the SSH channel: the piping, half-close, the file's
// mode and its removal are the forwarder's own; forwardOut itself is exercised by test/engine-vm.test.ts.
let dir: string;
let far: Server;
let farPort: number;
const tcpOpener: StreamOpener = (host, port) =>
  new Promise((resolve, reject) => {
    const s = connect({ host, port, allowHalfOpen: true }, () => resolve(s));
    s.once('error', reject);
  });

/** Sends `text`, ends its side, and reads until the far end closes (an EPIPE on a refused one included). */
function roundTrip(path: string, text: string): Promise<string> {
  return new Promise((resolve) => {
    const c = connect({ path, allowHalfOpen: true }, () => c.end(text));
    let got = '';
    c.on('data', (d) => (got += d));
    c.on('close', () => resolve(got));
    c.on('error', () => undefined);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-fwd-'));
  // Answers only once the client has ended its side: what a half-closing client needs to work.
  far = createServer({ allowHalfOpen: true }, (s) => {
    let got = '';
    s.on('data', (d) => (got += d));
    s.on('end', () => s.end(`echo:${got}`));
  });
  await new Promise<void>((r) => far.listen(0, '127.0.0.1', () => r()));
  farPort = (far.address() as AddressInfo).port;
});
afterAll(() => {
  far.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SocketForwarder', () => {
  it('pipes each connection to the far end, keeps half-closed ones readable, is 0600', async () => {
    const path = join(dir, 'a.sock');
    const f = await SocketForwarder.listen(path, tcpOpener, { host: '127.0.0.1', port: farPort });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const answers = await Promise.all(['one', 'two', 'three'].map((t) => roundTrip(path, t)));
    expect(answers).toEqual(['echo:one', 'echo:two', 'echo:three']);
    await f.close();
    expect(existsSync(path)).toBe(false);
    await f.close(); // idempotent
  });

  it('closes a connection whose far end cannot be opened', async () => {
    const path = join(dir, 'b.sock');
    const refused: StreamOpener = () => Promise.reject(new Error('administratively prohibited'));
    const f = await SocketForwarder.listen(path, refused, { host: '127.0.0.1', port: farPort });
    expect(await roundTrip(path, 'x')).toBe('');
    await f.close();
  });

  it('close() ends connections still open', async () => {
    const path = join(dir, 'c.sock');
    const f = await SocketForwarder.listen(path, tcpOpener, { host: '127.0.0.1', port: farPort });
    const c = connect({ path });
    await new Promise<void>((r) => c.once('connect', () => r()));
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.on('error', () => undefined);
    await f.close();
    await closed;
    expect(existsSync(path)).toBe(false);
  });
});
