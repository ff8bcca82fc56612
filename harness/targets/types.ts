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
  /** Layers below, e.g. the real host under a VM. */
  host?: {
    uname: string;
    os: string;
    /** The real host's kernel, as Node reads it (uname -s -r -v -m on Linux and macOS). */
    kernel?: KernelIdentity;
    /** The machine's model: hw.model on macOS (Mac14,2), the DMI product name on Linux. */
    model?: string;
    qemuPid?: number;
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

export interface ProbeRun {
  stdout: string;
  stderr: string;
  exitCode: number;
  durationMs: number;
}

/**
 * Where scenarios run. A target is prepared once per run (which may find that it must be skipped),
 * runs any number of probes, and is closed once (idempotent).
 */
export interface Target {
  readonly kind: TargetKind;
  /** Ready to run probes, or a named reason why not. */
  prepare(signal?: AbortSignal): Promise<{ info: TargetInfo; skip?: Skip }>;
  /** Runs `sh -s -- ...args` with the script on stdin. */
  runProbe(script: string, args: readonly string[], signal?: AbortSignal): Promise<ProbeRun>;
  close(): Promise<void>;
}
