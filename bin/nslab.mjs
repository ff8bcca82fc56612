#!/usr/bin/env node
// Starts the CLI: the bundle in dist/ when it is newer than every source file (fast), else the TypeScript
// sources through tsx (no build step needed in a clone; always what the source says).
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function freshBundle() {
  try {
    return statSync(join(root, 'dist', 'nslab.mjs')).mtimeMs > newestSource(join(root, 'harness'));
  } catch {
    return false;
  }
}

let main;
if (freshBundle()) ({ main } = await import('../dist/nslab.mjs'));
else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../harness/cli/main.ts'));
}
const code = await main(process.argv.slice(2));
// Exit explicitly: a kept VM's SSH connection or a stray timer must not keep the CLI waiting.
process.exit(code);
