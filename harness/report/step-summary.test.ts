import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendStepSummary } from './step-summary.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-step-summary-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('appendStepSummary', () => {
  it('appends to the file GITHUB_STEP_SUMMARY names, after what earlier steps wrote', async () => {
    const file = join(dir, 'step_summary');
    writeFileSync(file, '# an earlier step\n');
    const env = { GITHUB_STEP_SUMMARY: file };
    expect(await appendStepSummary('## nslab: 1 failed', env)).toBe(file);
    expect(await appendStepSummary('second\n', env)).toBe(file);
    expect(readFileSync(file, 'utf8')).toBe('# an earlier step\n## nslab: 1 failed\nsecond\n');
  });

  it('creates the file when the runner has not yet', async () => {
    const file = join(dir, 'fresh');
    expect(await appendStepSummary('text', { GITHUB_STEP_SUMMARY: file })).toBe(file);
    expect(readFileSync(file, 'utf8')).toBe('text\n');
  });

  it('writes nothing without the variable, or with it empty', async () => {
    // Other variables that name files in the directory must not be taken for it.
    const env = { HOME: dir, TMPDIR: dir, GITHUB_OUTPUT: join(dir, 'output') };
    expect(await appendStepSummary('text', env)).toBeUndefined();
    expect(await appendStepSummary('text', { ...env, GITHUB_STEP_SUMMARY: '' })).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
  });
});
