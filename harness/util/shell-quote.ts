/**
 * Quotes one word for a POSIX shell: single quotes keep every byte literal, and an embedded single quote
 * becomes '\''. Used only where a remote side insists on one command string (SSH exec).
 */
export function shellQuote(word: string): string {
  if (word.includes('\0')) throw new TypeError('a shell word cannot contain a NUL byte');
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/**
 * Quotes one word for PowerShell, the Windows shell people paste a command into: single quotes keep every
 * character literal (a path with spaces, `$`, backticks), and an embedded single quote is doubled.
 */
export function powershellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./\\-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", "''")}'`;
}

/** A command line to paste into PowerShell: `&` runs the (quoted) program, the arguments follow. */
export function powershellJoin(argv: readonly string[]): string {
  return ['&', ...argv.map(powershellQuote)].join(' ');
}
