import type { Readable } from 'node:stream';
import { execa } from 'execa';

export interface CliResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * The `docker` CLI as the engine target calls it: argv only (never a shell), the user's environment
 * (DOCKER_HOST, DOCKER_CONTEXT) passed on, results instead of throws.
 */
export class DockerCli {
  constructor(
    readonly command = 'docker',
    private readonly env?: Record<string, string>,
  ) {}

  async run(
    args: readonly string[],
    o: { input?: string | Readable; signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<CliResult> {
    const r = await execa(this.command, args, {
      reject: false,
      env: this.env,
      ...(o.input !== undefined ? { input: o.input } : {}),
      cancelSignal: o.signal,
      timeout: o.timeoutMs,
      stripFinalNewline: false,
    });
    return {
      stdout: typeof r.stdout === 'string' ? r.stdout : '',
      stderr: typeof r.stderr === 'string' ? r.stderr : String(r.message ?? ''),
      exitCode: r.exitCode ?? (r.failed ? 125 : 0),
    };
  }

  /** Parses a `--format '{{json .}}'` answer; undefined when the command failed or printed no JSON. */
  async json(args: readonly string[], signal?: AbortSignal): Promise<{ value?: unknown; error?: string }> {
    const r = await this.run(args, { signal, timeoutMs: 60_000 });
    if (r.exitCode !== 0) return { error: lastLine(r.stderr) || `exit ${r.exitCode}` };
    try {
      return { value: JSON.parse(r.stdout) };
    } catch {
      return { error: `not JSON: ${r.stdout.slice(0, 200)}` };
    }
  }
}

export const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';
