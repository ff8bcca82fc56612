import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { projectFile } from '../../harness/project-root.ts';

/** report.schema.json compiled once, strict, for every test that checks a report against it. */
const schema = JSON.parse(readFileSync(projectFile('harness', 'report', 'report.schema.json'), 'utf8'));
export const validateReport = new Ajv2020({
  allErrors: true,
  strict: true,
  allowUnionTypes: true,
  validateFormats: false,
}).compile(schema);
