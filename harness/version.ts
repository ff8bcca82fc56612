import { readFileSync } from 'node:fs';

/** The version in package.json, recorded in every report. */
export const NSLAB_VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;
