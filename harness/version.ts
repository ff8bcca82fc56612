import { readFileSync } from 'node:fs';
import { projectFile } from './project-root.ts';

/** The version in package.json, recorded in every report. */
export const NSLAB_VERSION: string = JSON.parse(readFileSync(projectFile('package.json'), 'utf8')).version;
