// A stand-in for QEMU 11, which refuses `fd:` migration on regular files (QEMU's removed-features list):
// QEMU 10 from bookworm-backports with fd 3 closed, so that a restore that still passed the saved guest as
// fd:3 fails as it would there. test/vm-snapshot.test.ts runs all its cases with QEMU 10 as well.
import { chmodSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImageDir } from '../harness/image/cache.ts';
import type { BuiltImage } from '../harness/image/manifest.ts';
import { qemuVersionLine } from '../harness/vm/qemu-binary.ts';
import { VmBuilder } from '../harness/vm/vm.ts';
import { backportsQemu } from './helpers/backports-qemu.ts';
import { projectImage, qemuProcessesWith } from './helpers/image.ts';
import { skipNote } from './helpers/tools.ts';

const found = process.platform === 'linux' && process.arch === 'x64' ? await backportsQemu() : undefined;
const qemu10 = found && 'qemu' in found ? found.qemu : undefined;
const reason = found && 'reason' in found ? found.reason : 'bookworm-backports QEMU is for x86_64 Linux only';
let dir: string;
let image: BuiltImage;
const logs: string[] = [];

beforeAll(async () => {
  if (!qemu10) return;
  dir = mkdtempSync(join(tmpdir(), 'nslab-newer-qemu-'));
  const project = await projectImage('x86_64');
  cpSync(project.dir, join(dir, 'image'), { recursive: true, filter: (src) => !src.includes('snapshots') });
  image = await openImageDir(join(dir, 'image'));
}, 300_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const boot = (qemu: string) =>
  new VmBuilder(image)
    .withAccel('tcg')
    .withQemu(qemu)
    .withLog((l) => logs.push(l))
    .boot();

describe.runIf(qemu10)(`snapshots with QEMU 10 (bookworm-backports)${skipNote(qemu10, reason)}`, () => {
  it('is really QEMU 10', async () => {
    expect(await qemuVersionLine(qemu10!)).toMatch(/^QEMU emulator version 10\.\d+\.\d+ /);
  });

  it('QEMU 11 stood in (no fd 3 to read a saved guest from): the restore still loads, from file:', async () => {
    const stand = join(dir, 'qemu11');
    writeFileSync(
      stand,
      `#!/bin/sh\n# QEMU 11 stood in: a saved guest passed as fd:3 cannot be read\nexec 3<&-\nexec '${qemu10}' "$@"\n`,
    );
    chmodSync(stand, 0o755);
    // Another QEMU path is another snapshot key: one cold boot saves, the next restores.
    {
      await using cold = await boot(stand);
      expect(cold.state.boot).toEqual({ mode: 'cold', snapshot: 'saved' });
    }
    logs.length = 0;
    await using vm = await boot(stand);
    expect(logs.filter((l) => /did not come up/.test(l))).toEqual([]);
    expect(vm.state.boot?.mode).toBe('restore');
    expect((await vm.exec('echo ok')).stdout.trim()).toBe('ok');
  }, 180_000);

  it('leaves no QEMU behind', async () => {
    expect(await qemuProcessesWith(dir)).toEqual([]);
  });
});
