import { readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import {
  ARCHES,
  hostArch,
  listImages,
  probeDebianArchive,
  type ArchiveProbe,
  type Arch,
} from '../image/index.ts';
import { ACCESS_FACTS_SCRIPT, parseAccessFacts, type AccessFacts } from '../targets/index.ts';
import { findOnPath } from '../util/find-on-path.ts';
import { hostPlatform, type Platform } from '../platform/index.ts';
import { chooseAccelerator, type Accel, type AccelDecision } from '../vm/accel.ts';
import { AccelVerdicts, kvmDevice, lookUpVerdict, type Verdict } from '../vm/accel-verdict.ts';
import { probeAccelerators } from '../vm/probe-accel.ts';
import {
  checkQemuVersion,
  parseQemuVersion,
  qemuBinaryName,
  qemuInstallHint,
  qemuVersionLine,
} from '../vm/qemu-binary.ts';
import { otherFolderHint, pathFacts, privateDirProblem, runtimeDirChoice } from '../vm/runtime-dir.ts';

/** Everything `nslab doctor` looks at, gathered once; the verdicts are made from it by pure functions. */
export interface DoctorFacts {
  host: { platform: NodeJS.Platform; arch: Arch; os: string; release: string; version: string };
  qemu: QemuFacts[];
  accel: AccelFacts;
  native?: AccessFacts;
  runtime: {
    dir: string;
    from: string;
    exists: boolean;
    problem?: { what: string; fix: string };
    otherwise: string;
  };
  cache: { root: string; images: CachedImage[]; packageBytes: number };
  /** The debian builder (always there) needs Debian's archive on a cold build; linuxkit is used only if asked. */
  builders: { linuxkit?: string; archive: ArchiveProbe };
  tools: { name: string; path?: string; package: string; neededFor: string }[];
}

export interface QemuFacts {
  arch: Arch;
  path?: string;
  versionLine?: string;
  /** Why this QEMU is too old for this host, where a minimum applies. */
  versionProblem?: string;
  installHint: string;
}

export interface AccelFacts {
  /** The hardware accelerator of this host's OS (kvm, hvf, whpx), if it has one. */
  native?: Accel;
  /** Linux: what opening the KVM device read-write gave. */
  device?: { path: string; opens: boolean; error?: string };
  /** What --accel auto decides before any trial, for a guest of this host's architecture. */
  decision: AccelDecision | { error: string };
  /** The remembered trial result for this host, this QEMU and this accelerator (undefined: never tried). */
  remembered?: Verdict;
  verdictFile: string;
  /** Every remembered verdict (other QEMUs, kernels or devices included). */
  allVerdicts: number;
}

export interface CachedImage {
  digest: string;
  arch: string;
  builder: string;
  kernelVersion?: string;
  createdAt: string;
  bytes: number;
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  try {
    for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
      if (e.isFile()) total += (await stat(join(e.parentPath, e.name)).catch(() => ({ size: 0 }))).size;
    }
  } catch {
    // absent
  }
  return total;
}

async function qemuFacts(arch: Arch, platform: Platform, hArch: Arch, override?: string): Promise<QemuFacts> {
  const installHint = qemuInstallHint(arch, platform);
  const path =
    override && arch === hArch
      ? override
      : findOnPath(qemuBinaryName(arch, platform), platform.qemuSearchDirs(process.env), platform);
  if (!path) return { arch, installHint };
  const versionLine = await qemuVersionLine(path);
  const versionProblem =
    arch === hArch ? checkQemuVersion(parseQemuVersion(versionLine), platform, hArch) : undefined;
  return { arch, path, versionLine, ...(versionProblem ? { versionProblem } : {}), installHint };
}

/** Gathers the facts; reads only (the runtime folder is not created, no VM is booted). */
export async function gatherDoctorFacts(options: {
  cacheRoot: string;
  qemu?: string;
  verdicts?: AccelVerdicts;
}): Promise<DoctorFacts> {
  const platform = hostPlatform;
  const arch = hostArch();
  // Asked at once, answered while the rest is gathered (bounded at 5 s).
  const archive = probeDebianArchive();
  const verdicts = options.verdicts ?? new AccelVerdicts();
  const qemu = await Promise.all(ARCHES.map((a) => qemuFacts(a, platform, arch, options.qemu)));
  const own = qemu.find((q) => q.arch === arch);
  const native = platform.accelerator;
  const probes = await probeAccelerators(platform, own?.path, arch);
  const decision = chooseAccelerator({
    platform,
    hostArch: arch,
    guestArch: arch,
    requested: 'auto',
    probes,
  });
  const remembered =
    own?.path && own.versionLine !== undefined && 'accel' in decision && decision.accel !== 'tcg'
      ? (
          await lookUpVerdict(verdicts, {
            accel: decision.accel,
            guestArch: arch,
            qemu: own.path,
            qemuVersion: own.versionLine,
            platform,
          })
        ).verdict
      : undefined;
  const choice = runtimeDirChoice(process.env, process.getuid?.(), os.tmpdir());
  const rfacts = pathFacts(choice.dir);
  const uid = process.getuid?.();
  const problem = rfacts && uid !== undefined ? privateDirProblem(choice.dir, rfacts, uid) : undefined;
  const images = await Promise.all(
    (await listImages(options.cacheRoot)).map(async (m) => ({
      digest: m.digest,
      arch: m.arch,
      builder: m.builder,
      kernelVersion: m.kernelVersion,
      createdAt: m.createdAt,
      bytes: await folderBytes(join(options.cacheRoot, m.digest)),
    })),
  );
  const tool = (name: string, pkg: string, neededFor: string) => ({
    name,
    path: findOnPath(name),
    package: pkg,
    neededFor,
  });
  return {
    host: { platform: process.platform, arch, os: os.type(), release: os.release(), version: os.version() },
    qemu,
    accel: {
      native,
      ...(platform.os === 'linux'
        ? {
            device: {
              path: kvmDevice(),
              opens: probes.kvm,
              ...(probes.kvmError ? { error: probes.kvmError } : {}),
            },
          }
        : {}),
      decision,
      remembered,
      verdictFile: verdicts.file,
      allVerdicts: (await verdicts.all()).length,
    },
    native:
      platform.os === 'linux'
        ? parseAccessFacts(
            (await execa('sh', ['-c', ACCESS_FACTS_SCRIPT], { reject: false })).stdout,
            platform.os,
          )
        : undefined,
    runtime: {
      dir: choice.dir,
      from: choice.from,
      exists: rfacts !== undefined,
      ...(problem ? { problem } : {}),
      otherwise: otherFolderHint(choice.from),
    },
    cache: {
      root: options.cacheRoot,
      images,
      packageBytes: await folderBytes(join(options.cacheRoot, 'debian')),
    },
    builders: {
      linuxkit: findOnPath(platform.exe('linuxkit')),
      archive: await archive,
    },
    tools:
      platform.os === 'linux'
        ? [
            tool('unshare', 'util-linux', 'native scenarios: new namespaces'),
            tool('nsenter', 'util-linux', 'native scenarios: entering namespaces'),
            tool('ps', 'procps', 'native scenarios: the process list'),
          ]
        : [],
  };
}
