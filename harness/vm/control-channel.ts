import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

/**
 * Where nslab reaches one of QEMU's control channels (QMP, the secrets port):
 * - POSIX: a Unix socket in the VM's 0700 run folder, so only this user can connect.
 * - Windows: TCP on 127.0.0.1, which every local user can reach, so QEMU serves it with TLS-PSK
 *   (`tls-creds-psk`) and a key made for this boot, in the run folder's `keys.psk` (`pskDir`). A connection
 *   without the key gets no QMP greeting and hands over nothing. Why not AF_UNIX, which QEMU has on
 *   Windows from 7.1: Node's sockets there are named pipes only (libuv issue 2537).
 */
export type ChannelAddress = { socket: string } | { port: number; pskDir?: string };

/** The file QEMU's tls-creds-psk reads in its `dir`: one `identity:hex-key` line. */
export const PSK_FILE = 'keys.psk';
export const PSK_IDENTITY = 'nslab';
/** The id of QEMU's TLS credentials object that both channels name. */
export const TLS_CREDS_ID = 'nslab-tls';

/** How the channels are protected, for the report. Pure. */
export type ControlChannel = 'unix-socket' | 'tcp-tls-psk';
export const controlChannelOf = (a: ChannelAddress): ControlChannel | 'tcp' =>
  'socket' in a ? 'unix-socket' : a.pskDir ? 'tcp-tls-psk' : 'tcp';

/** Writes this boot's pre-shared key into the run folder (mode 0600; the folder is private too). */
export async function writePskFile(dir: string): Promise<void> {
  await writeFile(join(dir, PSK_FILE), `${PSK_IDENTITY}:${randomBytes(32).toString('hex')}\n`, {
    mode: 0o600,
  });
}

function readPsk(dir: string): Buffer {
  const line = readFileSync(join(dir, PSK_FILE), 'utf8').trim();
  const m = /^([^:]+):([0-9a-f]{64})$/.exec(line);
  if (!m || m[1] !== PSK_IDENTITY) throw new Error(`${join(dir, PSK_FILE)} holds no nslab key`);
  return Buffer.from(m[2]!, 'hex');
}

/**
 * A TLS client of a QEMU channel under `psk`: TLS 1.2 with PSK ciphers, what QEMU's GnuTLS offers for
 * tls-creds-psk and what Node's TLS-PSK supports. No certificate: the key authenticates both sides.
 */
export function tlsPskOptions(port: number, psk: Buffer): ConnectionOptions {
  return {
    host: '127.0.0.1',
    port,
    pskCallback: () => ({ psk, identity: PSK_IDENTITY }),
    ciphers: 'PSK-AES256-GCM-SHA384:PSK-AES128-GCM-SHA256',
    maxVersion: 'TLSv1.2',
    checkServerIdentity: () => undefined,
  };
}

/** Connects to a channel; `ready` fires once bytes may be written (after the TLS handshake on Windows). */
export function connectChannel(a: ChannelAddress, ready: () => void): Socket {
  if ('socket' in a) return netConnect(a.socket).once('connect', ready);
  if (!a.pskDir) return netConnect(a.port, '127.0.0.1').once('connect', ready);
  return tlsConnect(tlsPskOptions(a.port, readPsk(a.pskDir))).once('secureConnect', ready);
}
