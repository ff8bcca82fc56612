import { rename } from 'node:fs/promises';

/**
 * rename(), retried for a moment where Windows refuses it while another process (an antivirus scanner,
 * the search indexer) holds the file just written: EPERM, EACCES or EBUSY there clear within milliseconds.
 * Elsewhere these errors are final, and the first is thrown at once.
 */
export async function renameWithRetry(
  from: string,
  to: string,
  options: { platform?: NodeJS.Platform; rename?: typeof rename; delaysMs?: number[] } = {},
): Promise<void> {
  const doRename = options.rename ?? rename;
  const delays =
    (options.platform ?? process.platform) === 'win32' ? (options.delaysMs ?? [10, 50, 100, 250, 500]) : [];
  for (let i = 0; ; i++) {
    try {
      return await doRename(from, to);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (i >= delays.length || !['EPERM', 'EACCES', 'EBUSY'].includes(code ?? '')) throw error;
      await new Promise((resolve) => setTimeout(resolve, delays[i]));
    }
  }
}
