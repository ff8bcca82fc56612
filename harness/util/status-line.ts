import { forTerminal } from './capped-output.ts';

/**
 * A line that is rewritten in place (download progress), on a terminal only: piped or in CI the progress
 * would be noise, and the step's start and end lines say enough there. An empty text clears it.
 */
export function statusLine(
  out: NodeJS.WriteStream = process.stderr,
  env: Record<string, string | undefined> = process.env,
): ((text: string) => void) | undefined {
  if (!out.isTTY || env.CI) return undefined;
  return (text) => out.write(`\r\x1b[K${forTerminal(text)}`);
}
