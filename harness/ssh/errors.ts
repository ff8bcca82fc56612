import { NslabError, ExitCode } from '../errors.ts';

import { tail } from '../util/text.ts';

/** A remote command that did not succeed, with what it was, how it ended, its output's tail and how long it took. */
export class SshCommandError extends NslabError {
  readonly command: string;
  readonly exitCode_: number | null;
  readonly signal: string | null;
  readonly stdoutTail: string;
  readonly stderrTail: string;
  readonly durationMs: number;

  constructor(r: {
    command: string;
    code: number | null;
    signal: string | null;
    stdout: string;
    stderr: string;
    durationMs: number;
  }) {
    const how = r.signal ? `was killed by ${r.signal}` : `exited with ${r.code}`;
    super(
      `ssh: \`${r.command.slice(0, 120)}\` ${how} after ${Math.round(r.durationMs)} ms${r.stderr.trim() ? `\n${tail(r.stderr)}` : ''}`,
      {
        exitCode: ExitCode.failed,
      },
    );
    this.command = r.command;
    this.exitCode_ = r.code;
    this.signal = r.signal;
    this.stdoutTail = tail(r.stdout);
    this.stderrTail = tail(r.stderr);
    this.durationMs = r.durationMs;
  }
}

/** The guest presented a host key other than the one made for this boot: the connection is refused. */
export class HostKeyMismatchError extends NslabError {
  constructor(expected: string, got: string) {
    super(
      `ssh: the guest's host key is not the one made for this boot (expected ${expected}, got ${got}); refusing to connect`,
      {
        exitCode: ExitCode.failed,
      },
    );
  }
}
