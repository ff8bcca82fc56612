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
