import { generateKeyPairSync, createHash, type KeyObject } from 'node:crypto';
import { cpioGz, type CpioEntry } from './cpio.ts';

/** SSH wire format: a uint32 length, then the bytes. */
function sshString(data: Buffer | string): Buffer {
  const body = Buffer.from(data);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

export interface Ed25519Key {
  /** The 32-byte seed. */
  seed: Buffer;
  /** The 32-byte public key. */
  pub: Buffer;
  /** PEM (PKCS#8) for Node and ssh2. */
  privatePem: string;
  /** `ssh-ed25519 AAAA...` */
  publicLine: string;
  /** The SSH wire blob of the public key, what a client compares when it pins a host key. */
  publicBlob: Buffer;
  /** OpenSSH-style fingerprint, `SHA256:...`. */
  fingerprint: string;
}

export function newEd25519Key(comment = 'nslab'): Ed25519Key {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return fromKeyObjects(privateKey, publicKey, comment);
}

function fromKeyObjects(privateKey: KeyObject, publicKey: KeyObject, comment: string): Ed25519Key {
  const jwkPriv = privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwkPriv.d!, 'base64url');
  const pub = Buffer.from(jwkPriv.x!, 'base64url');
  const publicBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  void publicKey;
  return {
    seed,
    pub,
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicLine: `ssh-ed25519 ${publicBlob.toString('base64')} ${comment}`,
    publicBlob,
    fingerprint: `SHA256:${createHash('sha256').update(publicBlob).digest('base64').replace(/=+$/, '')}`,
  };
}

/** Dropbear's own private key file format for ed25519: string "ssh-ed25519", string(seed || public). */
export function dropbearEd25519(key: Ed25519Key): Buffer {
  return Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.concat([key.seed, key.pub]))]);
}

/**
 * OpenSSH's private key file format (unencrypted), for the OpenSSH client and for LinuxKit's sshd image.
 */
export function opensshPrivateKey(key: Ed25519Key, comment = 'nslab'): string {
  const check = Buffer.alloc(4);
  check.writeUInt32BE(0x6e736c62);
  const body = Buffer.concat([
    check,
    check,
    sshString('ssh-ed25519'),
    sshString(key.pub),
    sshString(Buffer.concat([key.seed, key.pub])),
    sshString(comment),
  ]);
  const padLen = (8 - (body.length % 8)) % 8;
  const padded = Buffer.concat([body, Buffer.from(Array.from({ length: padLen }, (_, i) => i + 1))]);
  const all = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    Buffer.from([0, 0, 0, 1]),
    sshString(key.publicBlob),
    sshString(padded),
  ]);
  const b64 = all.toString('base64').replace(/.{1,70}/g, '$&\n');
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}-----END OPENSSH PRIVATE KEY-----\n`;
}

/** The secrets of one boot: a client key to log in with and the guest's host key to pin. */
export interface BootSecrets {
  client: Ed25519Key;
  host: Ed25519Key;
}

export function newBootSecrets(): BootSecrets {
  return { client: newEd25519Key('nslab-client'), host: newEd25519Key('nslab-guest') };
}

/** Bytes as `\0ooo` escapes, for the guest shell's builtin `printf '%b'` (no base64 process to start). */
export const printfOctal = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => `\\0${b.toString(8).padStart(3, '0')}`).join('');

/**
 * What the host writes to the guest's nslab.secrets port (guest/init.sh reads it line by line): the time
 * (a restored guest's clock is the snapshot's), entropy mixed into the guest's pool (every restore starts
 * from the same random state), the client's public key and the guest's host key in dropbear's format. Pure.
 */
export function secretsMessage(secrets: BootSecrets, nowMs: number, seed: Buffer): string {
  return [
    'nslab-secrets 1',
    `time ${Math.floor(nowMs / 1000)}`,
    `seed ${seed.toString('hex')}`,
    `authorized_key ${secrets.client.publicLine}`,
    `host_key ${printfOctal(dropbearEd25519(secrets.host))}`,
    'end',
    '',
  ].join('\n');
}

/**
 * A small gzip cpio appended to the image's initrd: the kernel unpacks it over the first archive, so every
 * boot gets fresh keys without rebuilding the cached image. Paths serve both builders' images: dropbear
 * reads its own format, LinuxKit's OpenSSH sshd the OpenSSH one.
 */
export function secretsOverlay(secrets: BootSecrets): Buffer {
  const entries: CpioEntry[] = [
    { path: 'root', type: 'dir', mode: 0o700 },
    { path: 'root/.ssh', type: 'dir', mode: 0o700 },
    { path: 'root/.ssh/authorized_keys', type: 'file', mode: 0o600, data: `${secrets.client.publicLine}\n` },
    { path: 'etc', type: 'dir', mode: 0o755 },
    { path: 'etc/dropbear', type: 'dir', mode: 0o700 },
    {
      path: 'etc/dropbear/dropbear_ed25519_host_key',
      type: 'file',
      mode: 0o600,
      data: dropbearEd25519(secrets.host),
    },
    { path: 'etc/ssh', type: 'dir', mode: 0o755 },
    {
      path: 'etc/ssh/ssh_host_ed25519_key',
      type: 'file',
      mode: 0o600,
      data: opensshPrivateKey(secrets.host),
    },
    {
      path: 'etc/ssh/ssh_host_ed25519_key.pub',
      type: 'file',
      mode: 0o644,
      data: `${secrets.host.publicLine}\n`,
    },
  ];
  return cpioGz(entries);
}
