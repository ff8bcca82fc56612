/** Skip conditions look tools up on PATH, never assume a fixed path. */
export { findOnPath } from '../../harness/util/find-on-path.ts';

/** A describe/it name suffix that says why it is skipped, so that the reason shows up in the run. */
export const skipNote = (runs: unknown, reason: string) => (runs ? '' : ` (skipped: ${reason})`);
