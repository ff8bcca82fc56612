// A vitest reporter that lists every skipped test with its reason at the end of the run. vitest's default
// reporter names skipped tests only on an interactive terminal; in CI's log they were just "N skipped", so
// a `needs-root` or `runtime-unavailable:docker` could hide there. A skip must say why: a test skipped
// without a reason (no `ctx.skip(reason)`, no "(skipped: …)" in its name or its suite's) fails the run.
import type { Reporter, TestModule, Vitest } from 'vitest/node';

export interface SkippedTest {
  file: string;
  name: string;
  /** ctx.skip(note), else the "(skipped: …)" that skipNote puts in a test's or suite's name. */
  reason?: string;
}

/** The reason a skipped test gives, from its note or from its full name. Pure. */
export function skipReason(fullName: string, note: string | undefined): string | undefined {
  if (note?.trim()) return note.trim();
  return /\(skipped: (.+?)\)(?= > |$)/.exec(fullName)?.[1];
}

/** The lines the run ends with: every skip and its reason, and those without one. Pure. */
export function skipReport(skips: readonly SkippedTest[]): { text: string; unexplained: number } {
  if (skips.length === 0) return { text: '', unexplained: 0 };
  const unexplained = skips.filter((s) => !s.reason).length;
  const lines = [
    `${skips.length} skipped test${skips.length === 1 ? '' : 's'}, with their reasons:`,
    ...skips.map((s) => `  SKIP ${s.file} > ${s.name}: ${s.reason ?? 'NO REASON GIVEN'}`),
  ];
  if (unexplained > 0)
    lines.push(
      `${unexplained} skipped without a reason: give one with ctx.skip(reason) or skipNote() in the name`,
    );
  return { text: `${lines.join('\n')}\n`, unexplained };
}

export default class SkipReasonsReporter implements Reporter {
  /** A run with -t: the tests it filters out are "skipped" with no reason, and are not listed. */
  private filtered = false;

  onInit(vitest: Vitest): void {
    this.filtered = !!vitest.config.testNamePattern;
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const skips: SkippedTest[] = [];
    for (const m of modules)
      for (const t of m.children.allTests('skipped')) {
        const r = t.result();
        const note = r.state === 'skipped' ? r.note : undefined;
        const reason = skipReason(t.fullName, note);
        if (!reason && this.filtered) continue;
        skips.push({ file: m.relativeModuleId, name: t.fullName, ...(reason ? { reason } : {}) });
      }
    const { text, unexplained } = skipReport(skips);
    if (text) process.stdout.write(`\n${text}`);
    if (unexplained > 0) process.exitCode = 1;
  }
}
