import { randomBytes } from 'node:crypto';

/** `20261128T041503Z-3f9a`: sorts by time, unique enough for parallel CI jobs on one machine. */
export function newRunId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}
