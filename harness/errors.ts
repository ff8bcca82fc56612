/** Exit codes of the CLI, as promised in the README. */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  environment: 3,
  interrupted: 130,
} as const;

/** An error the CLI reports as one clear message and a fixed exit code, never as a stack trace. */
export class NslabError extends Error {
  readonly exitCode: number;
  readonly hint: string | undefined;

  constructor(message: string, options: { exitCode: number; hint?: string; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode;
    this.hint = options.hint;
  }
}

/** Wrong option, value or argument on the command line. Exit 2. */
export class UsageError extends NslabError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.usage, hint });
  }
}

export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

/** A configuration file (scenario, linuxkit.yml) that is not valid. Exit 2; names file, line and column. */
export class ConfigError extends NslabError {
  readonly position: SourcePosition;
  readonly keyPath: string;

  constructor(position: SourcePosition, keyPath: string, message: string, hint?: string) {
    const where = `${position.file}:${position.line}:${position.column}`;
    super(`${where}: ${keyPath ? `${keyPath}: ` : ''}${message}`, { exitCode: ExitCode.usage, hint });
    this.position = position;
    this.keyPath = keyPath;
  }
}

/** This machine cannot do what was asked (missing tool, no privilege, no accelerator). Exit 3. */
export class EnvironmentError extends NslabError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { exitCode: ExitCode.environment, hint, cause });
  }
}
