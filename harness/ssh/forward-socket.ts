import { chmod, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** Opens one stream to the far end per accepted connection (SshSession.forwardOut, or a stand-in). */
export type StreamOpener = (host: string, port: number) => Promise<Duplex>;

/**
 * A Unix socket on this host whose every connection is piped to `host:port` on the far side of an SSH
 * connection, through a direct-tcpip channel of its own. The socket file is 0600; put it in a private
 * (0700) folder, since it is there before chmod makes it so. close() is idempotent and removes the file.
 */
export class SocketForwarder {
  readonly path: string;
  private readonly server: Server;
  private readonly open = new Set<Socket | Duplex>();
  private closing: Promise<void> | undefined;

  private constructor(path: string, server: Server) {
    this.path = path;
    this.server = server;
  }

  static async listen(
    path: string,
    opener: StreamOpener,
    to: { host: string; port: number },
  ): Promise<SocketForwarder> {
    // Half-open kept: a client that ends its side (docker's attach after stdin) still reads the answer.
    const server = createServer({ allowHalfOpen: true });
    const forwarder = new SocketForwarder(path, server);
    server.on('connection', (socket) => forwarder.accept(socket, opener, to));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // Errors after listening (none expected) must not crash the process.
    server.on('error', () => undefined);
    try {
      await chmod(path, 0o600);
    } catch (error) {
      await forwarder.close();
      throw error;
    }
    return forwarder;
  }

  private accept(socket: Socket, opener: StreamOpener, to: { host: string; port: number }): void {
    if (this.closing) return void socket.destroy();
    this.open.add(socket);
    socket.once('close', () => this.open.delete(socket));
    // A connection whose far end cannot be opened is closed: the client sees its request fail.
    socket.on('error', () => socket.destroy());
    socket.pause();
    opener(to.host, to.port).then(
      (channel) => {
        if (this.closing || socket.destroyed) return void channel.destroy();
        this.open.add(channel);
        channel.once('close', () => {
          this.open.delete(channel);
          socket.destroy();
        });
        channel.on('error', () => socket.destroy());
        socket.once('close', () => channel.destroy());
        socket.pipe(channel);
        channel.pipe(socket);
        socket.resume();
      },
      () => socket.destroy(),
    );
  }

  /** Stops listening, ends every piped connection and removes the socket file. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const s of this.open) s.destroy();
      await closed;
      await rm(this.path, { force: true });
    })();
    return this.closing;
  }
}
