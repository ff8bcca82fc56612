#!/usr/bin/env node
// Runs the TypeScript CLI straight from the source tree: tsx compiles on the fly, so a clone needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../harness/cli/main.ts');
const code = await main(process.argv.slice(2));
// Exit explicitly: a kept VM's SSH connection or a stray timer must not keep the CLI waiting.
process.exit(code);
