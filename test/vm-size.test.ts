// The VM lifecycle stays in parts small enough to read: no file in harness/vm over 300 lines, no function
// over 80 (tests excluded). Measured with TypeScript's own parser.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { projectFile } from '../harness/project-root.ts';

const DIR = projectFile('harness', 'vm');
const files = readdirSync(DIR).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));

/** Every function, method and arrow function in a file, with its length in lines. */
function functionLengths(file: string): { where: string; lines: number }[] {
  const src = ts.createSourceFile(file, readFileSync(join(DIR, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const found: { where: string; lines: number }[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body) {
      const from = src.getLineAndCharacterOfPosition(n.getStart()).line;
      const to = src.getLineAndCharacterOfPosition(n.getEnd()).line;
      found.push({ where: `${file}:${from + 1}`, lines: to - from + 1 });
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return found;
}

describe('harness/vm stays in small parts', () => {
  it('no file over 300 lines', () => {
    const long = files
      .map((f) => ({ f, lines: readFileSync(join(DIR, f), 'utf8').split('\n').length }))
      .filter((x) => x.lines > 300);
    expect(long).toEqual([]);
  });
  it('no function over 80 lines', () => {
    const all = files.flatMap(functionLengths);
    expect(all.length).toBeGreaterThan(50);
    expect(all.filter((x) => x.lines > 80)).toEqual([]);
  });
});
