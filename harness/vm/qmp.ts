import type { Socket } from 'node:net';
import { connectChannel, type ChannelAddress } from './control-channel.ts';

/** The QMP endpoint: a Unix socket on POSIX hosts, TLS-PSK over TCP on 127.0.0.1 on Windows. */
export type QmpAddress = ChannelAddress;

/**
 * Sends one QMP command (after the capabilities handshake) and resolves with its reply, or rejects on error
 * or timeout. A `quit` may close the socket before replying; that counts as done.
 */
export function qmpCommand(
  address: QmpAddress,
  command: string,
  timeoutMs = 2000,
  args?: Record<string, unknown>,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let sock: Socket;
    try {
      sock = connectChannel(address, () => {});
    } catch (error) {
      reject(error as Error);
      return;
    }
    let buf = '';
    let stage: 'greeting' | 'caps' | 'command' = 'greeting';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`QMP ${command}: no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (fn: () => void) => {
      clearTimeout(timer);
      sock.destroy();
      fn();
    };
    sock.on('error', (e) => finish(() => reject(e)));
    sock.on('close', () => {
      if (stage === 'command' && command === 'quit') finish(() => resolve(undefined));
    });
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as {
          QMP?: unknown;
          return?: unknown;
          error?: { desc: string };
          event?: string;
        };
        if (msg.event) continue;
        if (stage === 'greeting' && msg.QMP) {
          stage = 'caps';
          sock.write('{"execute":"qmp_capabilities"}\n');
        } else if (stage === 'caps') {
          stage = 'command';
          sock.write(
            `${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`,
          );
        } else if (stage === 'command') {
          if (msg.error) finish(() => reject(new Error(`QMP ${command}: ${msg.error!.desc}`)));
          else finish(() => resolve(msg.return));
        }
      }
    });
  });
}

/** The VM's run state over QMP (`running`, `internal-error`, ...), or undefined when QMP does not answer. */
export async function qmpStatus(qmp: QmpAddress): Promise<string | undefined> {
  try {
    return ((await qmpCommand(qmp, 'query-status', 1000)) as { status?: string }).status;
  } catch {
    return undefined;
  }
}
