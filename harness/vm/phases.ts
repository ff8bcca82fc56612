/** What each boot phase means, for the progress lines. */
export const PHASE_TEXT: Record<string, string> = {
  accelFailed: 'hardware accelerator abandoned',
  qemuSpawned: 'QEMU started',
  restored: 'restored from snapshot',
  snapshotSaved: 'booted guest saved for the next runs',
  secretsSent: 'keys handed over',
  secretsReceived: 'keys in place, SSH connecting',
  firstConsoleByte: 'firmware done, kernel booting',
  kernelToInit: 'kernel done, /init running',
  guestReady: 'guest ready',
  sshBanner: 'SSH server answering',
  firstCommand: 'logged in',
};

/** Marks a boot phase the first time it is reached. */
export type Mark = (phase: string) => void;

/**
 * The timeline of one boot attempt, in ms since the start of boot(). After a failed trial it starts with
 * that failure: every phase counts from the start of boot().
 */
export function phaseClock(a: {
  t0: number;
  name: string;
  failedAtMs?: number;
  log: (line: string) => void;
}): { phases: Record<string, number>; mark: Mark } {
  const phases: Record<string, number> = a.failedAtMs === undefined ? {} : { accelFailed: a.failedAtMs };
  // Progress: one plain line per boot phase as it happens, fine on a terminal and in CI logs alike.
  const mark = (phase: string) => {
    if (phases[phase] !== undefined) return;
    phases[phase] = Math.round(performance.now() - a.t0);
    const what = phase === 'qemuSpawned' ? `QEMU started as ${a.name}` : (PHASE_TEXT[phase] ?? phase);
    if (phase !== 'firstCommand') a.log(`vm: ${what} (${(phases[phase] / 1000).toFixed(2)} s)`);
  };
  return { phases, mark };
}
