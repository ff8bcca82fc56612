import { createHash } from 'node:crypto';
import type { Client, ClientChannel, ServerHostKeyAlgorithm } from 'ssh2';
import { HostKeyMismatchError, SshCommandError } from './errors.ts';

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  /** PEM or OpenSSH private key text. */
  privateKey: string;
  /** The SSH wire blob of the only host key to accept. */
  hostKeyBlob: Buffer;
}

/** Where a stream's bytes go: kept whole (Collect), or cut to a bound (see util/capped-output.ts). */
export interface OutputSink {
  push(chunk: Buffer): void;
  text(): string;
}

class Collect implements OutputSink {
  private readonly parts: Buffer[] = [];
  push(chunk: Buffer): void {
    this.parts.push(chunk);
  }
  text(): string {
    return Buffer.concat(this.parts).toString('utf8');
  }
}

export interface ExecOptions {
  input?: string;
  signal?: AbortSignal;
  /** Makes bounded sinks for untrusted output (a probe's); called once per channel, so a retry starts afresh. */
  capped?: () => { stdout: OutputSink; stderr: OutputSink };
}

export interface ExecResult {
  command: string;
  stdout: string;
  stderr: string;
  code: number | null;
  signal: string | null;
  durationMs: number;
}

/** How long an aborted command's channel may take to close before its result is given up on. */
export const ABORT_GRACE_MS = 1000;

/** The key type named at the start of an SSH wire-format public key ("ssh-ed25519"). Pure. */
export const keyType = (blob: Buffer) => blob.subarray(4, 4 + blob.readUInt32BE(0)).toString('latin1');

const fingerprint = (blob: Buffer) =>
  `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;

/** One SSH connection to the guest: key authentication only, the host key pinned, no agent, no password. */
export class SshSession {
  private readonly client: Client;
  private closed = false;

  private constructor(client: Client) {
    this.client = client;
  }

  static async connect(target: SshTarget, timeoutMs = 10_000): Promise<SshSession> {
    // Loaded on first use: runs that never touch a VM start ~0.1 s sooner without it.
    const { Client: SshClient } = await import('ssh2');
    return new Promise((resolve, reject) => {
      const client = new SshClient();
      let mismatch: HostKeyMismatchError | undefined;
      let settled = false;
      client.once('ready', () => {
        settled = true;
        resolve(new SshSession(client));
      });
      // Always listened to: a connection that drops later must not become an unhandled 'error' event;
      // the command running on it sees its channel close instead.
      client.on('error', (err) => {
        client.end();
        if (!settled) {
          settled = true;
          reject(mismatch ?? err);
        }
      });
      client.connect({
        host: target.host,
        port: target.port,
        username: target.username,
        privateKey: target.privateKey,
        readyTimeout: timeoutMs,
        tryKeyboard: false,
        agent: undefined,
        // Only the pinned key's type: a server offering others (dropbear -R) would otherwise be free to
        // make one of another type on demand, costing the guest seconds, to be refused anyway.
        algorithms: { serverHostKey: [keyType(target.hostKeyBlob)] as ServerHostKeyAlgorithm[] },
        hostVerifier: (key: Buffer) => {
          if (Buffer.compare(key, target.hostKeyBlob) === 0) return true;
          mismatch = new HostKeyMismatchError(fingerprint(target.hostKeyBlob), fingerprint(key));
          return false;
        },
      });
    });
  }

  /** Runs one command; stdin is sent and closed. Resolves with the whole result whatever the exit status. */
  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err, stream: ClientChannel) => {
        if (err) return reject(err);
        // Unbounded unless capped: a command's own output, for `vm exec`, is the user's to have whole.
        const sinks = options.capped?.();
        const out = sinks?.stdout ?? new Collect();
        const errOut = sinks?.stderr ?? new Collect();
        let done = false;
        const finish = (code: number | null, signal: string | null) => {
          if (done) return;
          done = true;
          options.signal?.removeEventListener('abort', onAbort);
          resolve({
            command,
            stdout: out.text(),
            stderr: errOut.text(),
            code,
            signal,
            durationMs: performance.now() - started,
          });
        };
        // Stopped from here (a timeout, Ctrl-C): ask the guest to kill the command and close the channel.
        // dropbear keeps a channel open while the command's children run, so after a short grace the
        // result is given up on (signal ABORTED); the VM's own stop ends what is left.
        const onAbort = () => {
          stream.signal('KILL');
          stream.close();
          setTimeout(() => finish(null, 'ABORTED'), ABORT_GRACE_MS).unref();
        };
        options.signal?.addEventListener('abort', onAbort, { once: true });
        if (options.signal?.aborted) onAbort();
        stream.on('data', (d: Buffer) => out.push(d));
        stream.stderr.on('data', (d: Buffer) => errOut.push(d));
        stream.on('close', (code: number | null, signal?: string) => finish(code ?? null, signal ?? null));
        stream.end(options.input ?? '');
      });
    });
  }

  /** Like exec, but a non-zero exit or a signal is an SshCommandError. */
  async run(command: string, options: { input?: string; signal?: AbortSignal } = {}): Promise<ExecResult> {
    const r = await this.exec(command, options);
    if (r.code !== 0 || r.signal) throw new SshCommandError(r);
    return r;
  }

  /** An interactive shell with a pty, wired to this process's terminal (nslab vm ssh). */
  shell(): Promise<number> {
    return new Promise((resolve, reject) => {
      const { stdin, stdout } = process;
      this.client.shell(
        { term: process.env.TERM ?? 'xterm', rows: stdout.rows ?? 24, cols: stdout.columns ?? 80 },
        (err, stream) => {
          if (err) return reject(err);
          const raw = stdin.isTTY;
          if (raw) stdin.setRawMode(true);
          stdin.pipe(stream);
          stream.pipe(stdout);
          stream.stderr.pipe(process.stderr);
          const onResize = () => stream.setWindow(stdout.rows ?? 24, stdout.columns ?? 80, 0, 0);
          stdout.on('resize', onResize);
          stream.on('close', (code: number | null) => {
            if (raw) stdin.setRawMode(false);
            stdin.unpipe(stream);
            stdin.pause();
            stdout.off('resize', onResize);
            resolve(code ?? 0);
          });
        },
      );
    });
  }

  /** A direct-tcpip channel to `host:port` as the guest sees it (ssh2's forwardOut; dropbear allows it). */
  forwardOut(host: string, port: number): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      this.client.forwardOut('127.0.0.1', 0, host, port, (err, channel) =>
        err ? reject(err) : resolve(channel),
      );
    });
  }

  /** Calls `listener` once when the connection ends (closed, dropped, or the VM gone). */
  onClose(listener: () => void): void {
    this.client.once('close', listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.end();
  }
}
