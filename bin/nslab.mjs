#!/usr/bin/env node
// Starts the CLI. From a clone: the bundle in dist/ when it is newer than every TypeScript source (fast),
// else the sources through tsx (no build step needed; always what the source says). Installed from the
// package (`npm pack` builds the bundle): there are no sources, so always the bundle.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = join(root, 'dist', 'nslab.mjs');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const hasSources = existsSync(join(root, 'harness', 'cli', 'main.ts'));
const useBundle =
  existsSync(bundle) && (!hasSources || statSync(bundle).mtimeMs > newestSource(join(root, 'harness')));

let main;
if (useBundle) ({ main } = await import('../dist/nslab.mjs'));
else if (!hasSources) {
  process.stderr.write(
    `nslab: ${bundle} is missing: this install is incomplete; reinstall nslab (npm pack builds it)\n`,
  );
  process.exit(3);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../harness/cli/main.ts'));
}
const code = await main(process.argv.slice(2));
// Exit explicitly: a kept VM's SSH connection or a stray timer must not keep the CLI waiting.
process.exit(code);
