/**
 * A VM's run folder, <runtime dir>/vm-<id>: everything one VM needs on the host while it runs. The only
 * place that spells the names of the files in it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { BuiltImage, ImageManifest } from '../image/manifest.ts';
import { opensshPrivateKey, secretsOverlay, type BootSecrets } from '../image/secrets.ts';

/** The image's init waits for its keys on the nslab.secrets port (and can therefore be saved and restored). */
export const usesSecretsChannel = (m: ImageManifest): boolean => m.secretsChannel === 'virtio-serial';

/** The initrd a boot hands QEMU: the image's own, or the run folder's copy with the secrets overlay. */
export const bootInitrd = (dir: string, image: BuiltImage): string =>
  usesSecretsChannel(image.manifest) ? image.initrd : runFile(dir, 'initrd');

/** The files in a run folder, by what they are. */
export const RUN_FILES = {
  /** QMP's Unix socket (POSIX hosts; Windows uses a TCP port). */
  qmpSocket: 'qmp.sock',
  /** Where QEMU listens for the boot's secrets (images with the virtio-serial channel; POSIX hosts). */
  secretsSocket: 'secrets.sock',
  /** QEMU's -pidfile. */
  pid: 'qemu.pid',
  /** The guest's serial console. */
  console: 'console.log',
  /** QEMU's stderr. */
  stderr: 'qemu.err',
  /** The per-boot SSH client key, OpenSSH format. */
  clientKey: 'client_key',
  /** The image's initrd with this boot's secrets appended (images without the secrets channel). */
  initrd: 'initrd.img',
  /** See VmState. */
  state: 'state.json',
  /** The PID of the nslab process that boots it, written before anything else (see cleanupStale). */
  owner: 'owner',
  /** The QEMU command line as run, for debugging. */
  argv: 'qemu.argv.json',
  /** The pinned host key for OpenSSH users (nslab vm up). */
  knownHosts: 'known_hosts',
  /** The guest's Docker API, forwarded over SSH (nslab engine up); no longer than secrets.sock, so it fits. */
  dockerSocket: 'docker.sock',
} as const;

export type RunFile = keyof typeof RUN_FILES;

const PREFIX = 'vm-';

/** The path of one file in a run folder. */
export const runFile = (dir: string, file: RunFile): string => join(dir, RUN_FILES[file]);

/** A new VM id: names its run folder and its QEMU. */
export const newVmId = (): string => randomBytes(4).toString('hex');

/** The run folder of VM `id` in runtime folder `root`. */
export const runFolderPath = (root: string, id: string): string => join(root, `${PREFIX}${id}`);

/** Whether a runtime folder entry is a run folder. */
export const isRunFolderName = (entry: string): boolean => entry.startsWith(PREFIX);

/** The VM id a run folder is named after. */
export const idOfRunFolder = (dir: string): string => basename(dir).slice(PREFIX.length);

/** QEMU's -name for VM `id`: how a leftover QEMU is recognised as ours. */
export const vmName = (id: string): string => `nslab-${id}`;

/** Creates the run folder (0700) with the owner marker in it. */
export async function createRunFolder(dir: string): Promise<void> {
  await mkdir(dir, { mode: 0o700 });
  await writeFile(runFile(dir, 'owner'), String(process.pid), { mode: 0o600 });
}

/**
 * The boot's client key, and for an image without the secrets channel its initrd (the image's plus a
 * secrets overlay); returns the client key's path. A channel image boots its own initrd unchanged.
 */
export async function writeBootSecrets(
  dir: string,
  image: BuiltImage,
  secrets: BootSecrets,
): Promise<string> {
  if (!usesSecretsChannel(image.manifest))
    await writeFile(
      runFile(dir, 'initrd'),
      Buffer.concat([await readFile(image.initrd), secretsOverlay(secrets)]),
      { mode: 0o600 },
    );
  const clientKeyFile = runFile(dir, 'clientKey');
  await writeFile(clientKeyFile, opensshPrivateKey(secrets.client), { mode: 0o600 });
  return clientKeyFile;
}

/** The QEMU command line an attempt runs. */
export async function writeArgv(dir: string, argv: string[]): Promise<void> {
  await writeFile(runFile(dir, 'argv'), JSON.stringify(argv));
}

/** For OpenSSH users: the pinned host key as a known_hosts file next to the client key; returns its path. */
export async function writeKnownHosts(dir: string, sshPort: number, hostKeyBlob: string): Promise<string> {
  const knownHosts = runFile(dir, 'knownHosts');
  await writeFile(knownHosts, `[127.0.0.1]:${sshPort} ssh-ed25519 ${hostKeyBlob}\n`, { mode: 0o600 });
  return knownHosts;
}
