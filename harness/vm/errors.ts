import { ExitCode, NslabError } from '../errors.ts';
import type { AccelFailure } from './accel-trial.ts';

/** Why a boot failed, with the last console lines: what a user needs to see first. */
export class BootError extends NslabError {
  readonly consoleTail: string;
  constructor(message: string, consoleTail: string, exitCode: number = ExitCode.failed) {
    super(`${message}${consoleTail ? `\n--- last console lines ---\n${consoleTail}` : ''}`, { exitCode });
    this.consoleTail = consoleTail;
  }
}

export class InterruptedError extends NslabError {
  constructor(what: string) {
    super(`interrupted during ${what}`, { exitCode: ExitCode.interrupted });
  }
}

/** A hardware accelerator could not run the guest; under `--accel auto` the boot goes on under TCG. */
export class AcceleratorFailedError extends NslabError {
  readonly failure: AccelFailure;
  constructor(failure: AccelFailure) {
    super(`${failure.accel} failed: ${failure.message}`, { exitCode: ExitCode.environment });
    this.failure = failure;
  }
}
