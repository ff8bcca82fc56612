/**
 * Readiness as data: the checks a boot waits for, in order, each marking its boot phase when it passes (in
 * the spirit of testcontainers' wait strategies and Lima's boot requirements). Every wait also checks that
 * QEMU is alive and that the console shows no panic, so a dead boot fails at once.
 */
import { connect } from 'node:net';
import type { ImageManifest } from '../image/manifest.ts';
import { SshSession } from '../ssh/index.ts';
import { alive, sleep } from '../util/process.ts';
import type { Accel } from './accel.ts';
import type { ConsoleLog } from './console-log.ts';
import { BootError, InterruptedError } from './errors.ts';
import { acceleratorFailed, describeExit, type QemuHandle } from './launch.ts';
import type { Mark } from './phases.ts';
import { qmpStatus } from './qmp.ts';
import { SECRETS_RECEIVED, SECRETS_WANTED } from './secrets-channel.ts';

/** What the checks see, and where the login check leaves its session for the first commands. */
export interface ReadinessContext {
  readonly consoleLog: ConsoleLog;
  readonly sshPort: number;
  /** The per-boot client key, OpenSSH format. */
  readonly privateKey: string;
  /** The host key the guest must present: pinned, never learned. */
  readonly hostKeyBlob: Buffer;
  session?: SshSession;
  /** A connection begun early (see sshConnectEarly), taken up by the login check. */
  connecting?: Promise<SshSession>;
  /** The guest's `uname -a`, from the login check. */
  uname?: string;
}

export interface ReadinessCheck {
  /** The boot phase marked when the check passes (see PHASE_TEXT). */
  name: string;
  /** What is waited for: "no <description> within 120 s", "... while waiting for <description>". */
  description: string;
  /** What to do when it does not come in time. */
  hint: string;
  /** True once ready; polled until then. */
  check(ctx: ReadinessContext): boolean | Promise<boolean>;
}

const TIMEOUT_HINT = 'raise it with --boot-timeout';

/** The console line an image's /init prints once it is ready; caches from before the field: debian's. */
export function readyMarkerOf(manifest: ImageManifest): string | undefined {
  return manifest.readyMarker ?? (manifest.builder === 'debian' ? 'nslab: ready' : undefined);
}

/** A line on the serial console that says the guest's /init is done. */
export function consoleMarker(marker: string): ReadinessCheck {
  return {
    name: 'guestReady',
    description: `${JSON.stringify(marker)} on the console`,
    hint: TIMEOUT_HINT,
    check: (ctx) => ctx.consoleLog.lines.some((l) => l.includes(marker)),
  };
}

/** The forwarded port answers with an SSH banner (slirp accepts before the guest listens). */
export const sshBannerCheck: ReadinessCheck = {
  name: 'sshBanner',
  description: 'the SSH banner',
  hint: TIMEOUT_HINT,
  check: (ctx) => sshBanner(ctx.sshPort),
};

const connectTo = (ctx: ReadinessContext) =>
  SshSession.connect({
    host: '127.0.0.1',
    port: ctx.sshPort,
    username: 'root',
    privateKey: ctx.privateKey,
    hostKeyBlob: ctx.hostKeyBlob,
  });

/**
 * Begins the SSH connection once the guest says its keys are in place, while its init finishes (clock,
 * the rest of its boot list): the key exchange and the guest's last steps overlap. The login check takes
 * the connection up; no command runs before the ready marker. A restored guest's SSH server listens
 * from before the save, and reads the host key file only during the key exchange.
 */
export const sshConnectEarly: ReadinessCheck = {
  name: 'secretsReceived',
  description: `${JSON.stringify(SECRETS_RECEIVED)} on the console`,
  hint: TIMEOUT_HINT,
  check(ctx) {
    if (!ctx.consoleLog.lines.some((l) => l.includes(SECRETS_RECEIVED))) return false;
    const connecting = connectTo(ctx);
    connecting.catch(() => {}); // a failure is the login check's to handle (it connects afresh)
    ctx.connecting = connecting;
    return true;
  },
};

/** Closes what the checks opened (a failed boot): the early connection, even one still being made. */
export function closeSessions(ctx: ReadinessContext | undefined): void {
  ctx?.connecting?.then(
    (s) => s.close(),
    () => {},
  );
  ctx?.session?.close();
}

/** A login with the per-boot key, the guest presenting the pinned host key, and one command. */
export const sshLoginCheck: ReadinessCheck = {
  name: 'firstCommand',
  description: 'SSH login',
  hint: TIMEOUT_HINT,
  async check(ctx) {
    let session: SshSession | undefined;
    const early = ctx.connecting;
    ctx.connecting = undefined;
    try {
      session = await (early ?? connectTo(ctx));
      ctx.uname = (await session.run('uname -a')).stdout.trim();
      ctx.session = session;
      return true;
    } catch (error) {
      session?.close();
      if ((error as Error).name === 'HostKeyMismatchError') throw error;
      return false;
    }
  },
};

/**
 * The handover of the boot's keys: once the guest's init says it waits for them (a restored guest waits
 * already: `waitForMarker` false), `handover` runs once (it may save the guest first) and the check passes.
 */
export function secretsHandover(handover: () => Promise<void>, waitForMarker = true): ReadinessCheck {
  return {
    name: 'secretsSent',
    description: `${JSON.stringify(SECRETS_WANTED)} on the console`,
    hint: TIMEOUT_HINT,
    async check(ctx) {
      if (waitForMarker && !ctx.consoleLog.lines.some((l) => l.includes(SECRETS_WANTED))) return false;
      await handover();
      return true;
    },
  };
}

/**
 * What a booted image is waited for: the keys handed over (images with the secrets channel), its console
 * marker if it has one, then SSH.
 */
export function readinessChecks(manifest: ImageManifest, handover?: ReadinessCheck): ReadinessCheck[] {
  const marker = readyMarkerOf(manifest);
  // After the marker the SSH server is up: a banner probe would only cost the guest one more process.
  return [
    ...(handover ? [handover] : []),
    ...(handover && marker ? [sshConnectEarly] : []),
    ...(marker ? [consoleMarker(marker)] : [sshBannerCheck]),
    sshLoginCheck,
  ];
}

/** How the waits watch the boot: its QEMU, its accelerator, its deadline. */
export interface BootWatch {
  qemu: QemuHandle;
  accel: Accel;
  /** A trial of a hardware accelerator: a stopped guest fails it at once. */
  trial: boolean;
  /** performance.now() by which the boot must be ready; timeoutMs is what the message says. */
  deadline: number;
  timeoutMs: number;
  signal?: AbortSignal;
  mark: Mark;
  /** A restored guest: its console starts after the boot, so it marks no boot phases. */
  restored?: boolean;
}

/** Waits for each check in turn and marks its phase. */
export async function waitUntilReady(
  checks: ReadinessCheck[],
  ctx: ReadinessContext,
  w: BootWatch,
): Promise<void> {
  const status = { checkedAt: performance.now() };
  for (const c of checks) {
    await waitFor(c, ctx, w, status);
    w.mark(c.name);
  }
}

async function waitFor(
  c: ReadinessCheck,
  ctx: ReadinessContext,
  w: BootWatch,
  status: { checkedAt: number },
): Promise<void> {
  const { consoleLog } = w.qemu;
  for (;;) {
    if (w.signal?.aborted) throw new InterruptedError(`boot (${c.description})`);
    await watchBoot(c.description, w, status);
    if (await c.check(ctx)) return;
    if (performance.now() > w.deadline) {
      // Not one byte from a hardware-accelerated guest in the whole timeout: the accelerator's doing.
      if (w.accel !== 'tcg' && consoleLog.bytes === 0)
        throw await acceleratorFailed(w.qemu, w.accel, 'silent', w.timeoutMs);
      // A trial that printed and then missed readiness: maybe the accelerator (nested hypervisors stall this
      // way), maybe load. Uncertain: this run falls back to TCG; only a second stall in a row settles it.
      if (w.trial) throw await acceleratorFailed(w.qemu, w.accel, 'stalled', w.timeoutMs, c.description);
      throw new BootError(
        `no ${c.description} within ${Math.round(w.timeoutMs / 1000)} s (accelerator ${w.accel}; ${c.hint})`,
        consoleLog.tail(),
      );
    }
    await sleep(20);
  }
}

/** Reads the console (marking its phases), and fails at once on a panic, a gone QEMU or a stopped guest. */
async function watchBoot(what: string, w: BootWatch, status: { checkedAt: number }): Promise<void> {
  const { consoleLog, pid } = w.qemu;
  const fresh = await consoleLog.poll();
  if (consoleLog.bytes > 0 && !w.restored) w.mark('firstConsoleByte');
  for (const line of fresh) {
    if (/Run \/init as init process|nslab: init/.test(line) && !w.restored) w.mark('kernelToInit');
    if (/Kernel panic - not syncing/.test(line)) {
      await sleep(100);
      await consoleLog.poll();
      throw new BootError(`the guest kernel panicked while waiting for ${what}`, consoleLog.tail());
    }
  }
  const exited = w.qemu.exited();
  if (exited || !alive(pid))
    throw new BootError(
      `QEMU exited (${exited ? describeExit(exited) : 'gone'}) while waiting for ${what}`,
      consoleLog.tail(),
    );
  // KVM stops a guest it cannot run with an internal error (QEMU pauses it and says so on stderr).
  if (w.trial && performance.now() - status.checkedAt > 500) {
    status.checkedAt = performance.now();
    if ((await qmpStatus(w.qemu.qmp)) === 'internal-error')
      throw await acceleratorFailed(w.qemu, w.accel, 'internal-error');
  }
}

/** True once the forwarded port answers with an SSH banner (slirp accepts before the guest listens). */
function sshBanner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('data', (d) => done(d.toString('latin1').startsWith('SSH-2.0-')));
    sock.once('error', () => done(false));
    sock.once('close', () => done(false));
  });
}
