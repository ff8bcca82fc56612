import { appendFile } from 'node:fs/promises';

/**
 * Appends Markdown to the GitHub Actions step summary, the file GITHUB_STEP_SUMMARY names; outside Actions
 * (the variable unset or empty) it does nothing. Returns the file's path when it wrote.
 */
export async function appendStepSummary(
  markdown: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const path = env.GITHUB_STEP_SUMMARY;
  if (!path) return undefined;
  // Appended, not written: earlier steps' and this step's other summaries stay; a final newline keeps
  // the next one from running into our last line.
  await appendFile(path, markdown.endsWith('\n') ? markdown : `${markdown}\n`, 'utf8');
  return path;
}
