/** The last lines of some output, for error messages. */
export const tail = (text: string, lines = 10) => text.trimEnd().split('\n').slice(-lines).join('\n');
