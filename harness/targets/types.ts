import type { GuestNetwork, KernelIdentity, TargetKind } from '../vocabulary.ts';

/** Why a target cannot run scenarios here; a stable name a script can match on. */
export type SkipReason =
  | 'not-linux'
  | 'needs-root'
  | 'userns-disabled'
  | 'apparmor-userns'
  | 'kernel-config:CONFIG_PID_NS'
  | 'tool-missing:unshare'
  | 'tool-missing:qemu'
  | (string & {});

export interface Skip {
  reason: SkipReason;
  detail: string;
  /** What the user can do about it. */
  hint?: string;
}

/** What the target is, recorded in every report. */
export interface TargetInfo {
  kind: TargetKind;
  /** The machine the probe runs on: this host (native) or the guest (vm). */
  uname: string;
  os: string;
  /** How the probe gets the privilege it needs: root, sudo, userns (rootless), or none (skipped). */
  access?: 'root' | 'sudo' | 'userns';
  /** The report's column heading, as the driver words it: "native Linux", "VM on macOS (hvf)". */
  column?: string;
  /**
   * Where the probe's outside view is seen: on this host's own kernel, or in a VM (nslab's, WSL's, an
   * engine's) with the real host below it. The report draws the layers from this, not from the kind.
   */
  observer?: 'host' | 'vm';
  /** The Docker engine a target of kind engine runs its containers in (see targets/engine). */
  engine?: EngineInfo;
  /** Layers below, e.g. the real host under a VM. */
  host?: {
    uname: string;
    os: string;
    /** The real host's kernel, as Node reads it (uname -s -r -v -m on Linux and macOS). */
    kernel?: KernelIdentity;
    /** The machine's model: hw.model on macOS (Mac14,2), the DMI product name on Linux. */
    model?: string;
    qemuPid?: number;
    /** The real host's process that is the VM (QEMU, or an engine's VM), or why none can be named. */
    vmProcess?: VmProcessInfo;
    accelerator?: string;
    acceleratorReason?: string;
    /** The hardware accelerator tried first (or remembered as failing) under --accel auto, in QEMU's words. */
    acceleratorFailed?: { accelerator: string; message: string };
    reusedVm?: boolean;
    /** What the VM guest's network reached (see GUEST_NETWORKS). */
    guestNetwork?: GuestNetwork;
    /**
     * How nslab reached QEMU's QMP and secrets channels: Unix sockets in a 0700 folder (POSIX), or TCP on
     * 127.0.0.1 under TLS with a per-boot pre-shared key (Windows).
     */
    controlChannel?: 'unix-socket' | 'tcp-tls-psk' | 'tcp';
    /** How the guest came up: restored from a saved guest (and how long that took), or a cold boot. */
    boot?:
      | { mode: 'restore'; restoreMs: number }
      | { mode: 'cold'; snapshot: 'saved' | 'off' | 'none' | 'failed'; note?: string };
    /** The QEMU binary and its `--version` line. */
    qemu?: { path: string; version: string };
    /** The image the VM booted: its cache digest, which builder made it, the guest kernel's version. */
    image?: { digest: string; builder: string; kernelVersion?: string };
  };
  /** Per-phase timings (ms) for targets that boot something. */
  phases?: Record<string, number>;
}

/** A process of the real host that runs a VM: how it was found, or why none can be named (never a guess). */
export type VmProcessInfo = { pid: number; what: string; how?: string } | { notVisible: string };

/** What nslab found out about the engine behind the `docker` CLI. */
export interface EngineInfo {
  /** Stable id of the backend (docker-desktop, orbstack, colima, lima, rancher-desktop, podman-machine...). */
  backend: string;
  /** Its name in words, and what it runs in: "Docker Desktop", "LinuxKit VM". */
  name: string;
  runsIn: string;
  /** Which facts named it, e.g. `docker info OperatingSystem "Docker Desktop"`. */
  evidence: string[];
  /** The Docker context and host the CLI talks to. */
  context?: string;
  host?: string;
  /** The engine's own words: docker version's server line, docker info's OperatingSystem and KernelVersion. */
  serverVersion?: string;
  operatingSystem?: string;
  kernelVersion?: string;
  /** A helper container with --pid=host read the outside view; false when the engine forbids it. */
  pidHost: boolean;
}

export interface ProbeRun {
  stdout: string;
  stderr: string;
  exitCode: number;
  durationMs: number;
}

/** The container a probe hands its isolated side to: the runtime's docker run flags and the inside's words. */
export interface HandoffSpec {
  flags: readonly string[];
  /** The inside script's positional parameters, `nslab-inside` ($0) first (see IsolateRequest). */
  insideArgs: readonly string[];
}

/**
 * A target whose isolated processes are containers that nslab itself starts next to the probe (the engine
 * target: the probe runs in a helper container, which has no docker CLI to start one).
 */
export interface ContainerHandoff {
  /** The engine's image of one file (busybox as /bin/sh). */
  readonly image: string;
  /** The engine's version line, e.g. "Docker Engine 27.3.1". */
  readonly version: string;
  /** The isolate argv of the next probe, which hands off to a container made from `spec`. */
  handoff(spec: HandoffSpec): string[];
}

/**
 * Where scenarios run. A target is prepared once per run (which may find that it must be skipped),
 * runs any number of probes, and is closed once (idempotent).
 */
export interface Target {
  readonly kind: TargetKind;
  /** Set where the isolated processes are containers the target starts itself (see ContainerHandoff). */
  readonly containers?: ContainerHandoff;
  /** Ready to run probes, or a named reason why not. */
  prepare(signal?: AbortSignal): Promise<{ info: TargetInfo; skip?: Skip }>;
  /** Runs `sh -s -- ...args` with the script on stdin. */
  runProbe(script: string, args: readonly string[], signal?: AbortSignal): Promise<ProbeRun>;
  close(): Promise<void>;
}
