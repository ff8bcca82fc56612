import { readFileSync } from 'node:fs';

/** The last lines of some output, for error messages. */
export const tail = (text: string, lines = 10) => text.trimEnd().split('\n').slice(-lines).join('\n');

/** Windows line endings (CRLF) made LF. */
export const lf = (text: string) => text.replace(/\r\n/g, '\n');

/**
 * A shell script's text with LF line endings, whatever its checkout gave it: Git for Windows checks text out
 * with CRLF (core.autocrlf=true), and `sh` reads `then\r` as a word, not a keyword. For every file nslab
 * hands to a shell as it is (probe.sh, preflight.sh, the guest's /init); .gitattributes keeps them LF too.
 */
export const readShellScript = (file: string) => lf(readFileSync(file, 'utf8'));
