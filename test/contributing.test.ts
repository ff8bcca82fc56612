import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { projectFile } from '../harness/project-root.ts';

// CONTRIBUTING.md names files and npm scripts; a rename elsewhere must not leave it pointing at nothing.
const TEXT = readFileSync(projectFile('CONTRIBUTING.md'), 'utf8');
const SCRIPTS = Object.keys(JSON.parse(readFileSync(projectFile('package.json'), 'utf8')).scripts);
const EXTENSIONS = /\.(ts|ya?ml|md|mjs|cjs|json|sh)$/;

/**
 * The project paths among a Markdown text's inline code spans: a `/` or a known extension, one word (not a
 * command line), no glob or placeholder (`<`, `*`, `{`), not absolute (`/init` is the guest's), nor a URL.
 */
function projectPaths(markdown: string): string[] {
  const prose = markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
  const spans = [...prose.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
  const paths = spans.filter(
    (t) =>
      (t.includes('/') || EXTENSIONS.test(t)) &&
      !/[\s<*{]/.test(t) &&
      !t.startsWith('/') &&
      !t.startsWith('dist/') && // made by `npm run build` (or `npm install`), not in git
      !t.includes('://'),
  );
  return [...new Set(paths)];
}

/** Every script named as `npm run X` (or `npm run -s X`) anywhere in the text, and `npm test`. */
function npmScripts(markdown: string): string[] {
  const named = [...markdown.matchAll(/\bnpm run (?:-s )?([\w:.-]+)/g)].map((m) => m[1]!);
  if (/\bnpm test\b/.test(markdown)) named.push('test');
  return [...new Set(named)];
}

describe('CONTRIBUTING.md', () => {
  it('every project path it names exists', () => {
    const paths = projectPaths(TEXT);
    expect(paths.length).toBeGreaterThan(40);
    const missing = paths.filter((p) => !existsSync(projectFile(p)));
    expect(missing, `CONTRIBUTING.md names paths that do not exist: ${missing.join(', ')}`).toEqual([]);
  });

  it('every `npm run X` it names is a script in package.json', () => {
    const named = npmScripts(TEXT);
    expect(named).toEqual(expect.arrayContaining(['test', 'lint:layers', 'build', 'bench', 'soak']));
    const unknown = named.filter((s) => !SCRIPTS.includes(s));
    expect(unknown, `CONTRIBUTING.md names npm scripts package.json lacks: ${unknown.join(', ')}`).toEqual(
      [],
    );
  });

  it('the checks catch a wrong path and a wrong script', () => {
    const broken = `\`harness/vocabulary.tss\`, \`scenarios/pid-ns.yaml\`, \`npm run lint:layer\``;
    expect(projectPaths(broken).filter((p) => !existsSync(projectFile(p)))).toEqual([
      'harness/vocabulary.tss',
    ]);
    expect(npmScripts(broken).filter((s) => !SCRIPTS.includes(s))).toEqual(['lint:layer']);
  });
});
