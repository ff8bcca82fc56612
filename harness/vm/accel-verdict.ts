import { readFile, realpath, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import type { Arch } from '../image/arch.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { hostPlatform, type Platform } from '../platform/index.ts';
import { cpuModel, type Accel, type HostCpu } from './accel.ts';
import type { TrialRecord } from './accel-trial.ts';

/**
 * Everything that could change whether a hardware accelerator runs the guest on this host. A verdict is
 * reused only while every field is the same: a QEMU upgrade, a new host kernel, a reloaded KVM module or a
 * different CPU model in nslab's argv makes it a new question.
 */
export interface VerdictKey {
  accel: Accel;
  guestArch: string;
  /** The QEMU binary's real path and its `--version` line. */
  qemu: string;
  qemuVersion: string;
  hostKernel: string;
  /** The accelerator device's identity, e.g. /dev/kvm's device number, inode and change time. */
  device: string;
  /** The `-cpu` value nslab passes: a workaround in a later version is a new question. */
  cpu: string;
}

/** One remembered verdict: a trial record (see accel-trial.ts) for one key. */
export interface Verdict extends TrialRecord {
  key: VerdictKey;
  checkedAt: string;
}

const sameKey = (a: VerdictKey, b: VerdictKey) =>
  (Object.keys(a) as (keyof VerdictKey)[]).every((k) => a[k] === b[k]) &&
  Object.keys(a).length === Object.keys(b).length;

/** The default place: the user's state folder, never the project (a verdict is about the host). */
export const defaultVerdictFile = () =>
  join(hostPlatform.stateDir(process.env, os.homedir()), 'accel-verdicts.json');

/**
 * Remembered accelerator verdicts, one JSON file written atomically. A missing or unreadable file is an empty
 * memory: the worst case is one more trial boot, never a failure.
 */
export class AccelVerdicts {
  readonly file: string;
  constructor(file: string = defaultVerdictFile()) {
    this.file = file;
  }

  async all(): Promise<Verdict[]> {
    try {
      const data = JSON.parse(await readFile(this.file, 'utf8')) as { verdicts?: Verdict[] };
      return Array.isArray(data.verdicts) ? data.verdicts.filter((v) => v && v.key) : [];
    } catch {
      return [];
    }
  }

  async get(key: VerdictKey): Promise<Verdict | undefined> {
    return (await this.all()).find((v) => sameKey(v.key, key));
  }

  async record(key: VerdictKey, result: TrialRecord): Promise<void> {
    const rest = (await this.all()).filter((v) => !sameKey(v.key, key));
    const verdict: Verdict = { key, ...result, checkedAt: new Date().toISOString() };
    await writeFileAtomic(
      this.file,
      `${JSON.stringify({ version: 1, verdicts: [...rest, verdict] }, null, 2)}\n`,
      0o600,
    );
  }

  /** Forgets every verdict (nslab doctor --recheck); returns how many there were. */
  async forget(): Promise<number> {
    const n = (await this.all()).length;
    await rm(this.file, { force: true });
    return n;
  }
}

/** The KVM device nslab probes; NSLAB_KVM_DEVICE replaces it (tests use a stand-in file). */
export const kvmDevice = (env: NodeJS.ProcessEnv = process.env) => env.NSLAB_KVM_DEVICE || '/dev/kvm';

/** The accelerator device's identity on this host, as a short text. */
export async function deviceIdentity(accel: Accel, platform: Platform): Promise<string> {
  if (accel === 'kvm' && platform.os === 'linux') {
    const dev = kvmDevice();
    try {
      // A reloaded kvm module (e.g. with nested=1) makes a new device node: a new change time.
      const s = await stat(dev);
      return `${dev} rdev=${s.rdev} ino=${s.ino} ctime=${Math.round(s.ctimeMs)}`;
    } catch {
      return `${dev} absent`;
    }
  }
  return `${accel} on ${platform.os}`;
}

/** Gathers the key for this host, this QEMU and this accelerator, and what is remembered under it. */
export async function lookUpVerdict(
  verdicts: AccelVerdicts,
  input: {
    accel: Accel;
    guestArch: Arch;
    qemu: string;
    qemuVersion: string;
    platform: Platform;
    hostCpu?: HostCpu;
  },
): Promise<{ key: VerdictKey; verdict?: Verdict }> {
  const key: VerdictKey = {
    accel: input.accel,
    guestArch: input.guestArch,
    qemu: await realpath(input.qemu).catch(() => input.qemu),
    qemuVersion: input.qemuVersion,
    hostKernel: `${os.type()} ${os.release()}`,
    device: await deviceIdentity(input.accel, input.platform),
    cpu: cpuModel(input.accel, input.guestArch, input.hostCpu),
  };
  return { key, verdict: await verdicts.get(key) };
}
