import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostArch } from '../harness/image/arch.ts';
import { listImages } from '../harness/image/cache.ts';
import { DEFAULT_IMAGE_CACHE } from '../harness/cli/paths.ts';
import { projectImage, qemuProcessesWith } from './helpers/image.ts';
import { realQemu, standInQemu } from './helpers/stand-in-qemu.ts';
import { findOnPath, skipNote } from './helpers/tools.ts';

// `nslab doctor` on this very host: its findings must match what the host really has.
const BIN = new URL('../bin/nslab.mjs', import.meta.url).pathname;
const ARCH = hostArch();
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-doctor-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function doctor(args: string[], env: Record<string, string> = {}) {
  const runtime = mkdtempSync(join(dir, 'run-'));
  return execa(process.execPath, [BIN, 'doctor', ...args], {
    reject: false,
    cwd: dir,
    env: { NSLAB_RUNTIME_DIR: runtime, XDG_STATE_HOME: join(dir, 'state'), ...env },
  });
}

describe('nslab doctor', () => {
  it('--json: the host, QEMU, the runtime folder and the image cache as they really are', async () => {
    const r = await doctor(['--json']);
    const report = JSON.parse(String(r.stdout));
    const f = report.facts;
    expect(f.host).toEqual({
      platform: process.platform,
      arch: ARCH,
      os: os.type(),
      release: os.release(),
      version: os.version(),
    });
    for (const q of f.qemu) expect(q.path).toBe(realQemu(q.arch));
    expect(f.runtime).toMatchObject({ from: 'NSLAB_RUNTIME_DIR', exists: true });
    expect(f.runtime.problem).toBeUndefined();
    expect(f.cache.images.map((i: { digest: string }) => i.digest).sort()).toEqual(
      (await listImages(DEFAULT_IMAGE_CACHE)).map((m) => m.digest).sort(),
    );
    expect(f.native.uid).toBe(process.getuid!());
    expect(f.tools.find((t: { name: string }) => t.name === 'unshare').path).toBe(findOnPath('unshare'));
    // The exit code follows the verdict: 0 when a VM run can start, 3 when not.
    expect(r.exitCode).toBe(report.vmPossible ? 0 : 3);
    // Possible: QEMU for this host, a private runtime folder (it is), and a cached image or an archive
    // that answers (it does here: the build tests fetch from it).
    expect(f.builders.archive).toMatchObject({
      url: 'https://deb.debian.org/debian/dists/bookworm/InRelease',
      answers: true,
      detail: 'HTTP 200',
    });
    expect(report.vmPossible).toBe(realQemu(ARCH) !== undefined);
  });

  it('the text form names each section and ends with the verdict', async () => {
    const r = await doctor([]);
    for (const title of ['Host', 'QEMU', 'Accelerator', 'Runtime folder', 'Images'])
      expect(String(r.stdout)).toMatch(new RegExp(`^${title}$`, 'm'));
    expect(String(r.stdout)).toMatch(/^A VM run (can|cannot) start here/m);
  });

  it('without QEMU on PATH: exit 3, naming what is missing and how to install it', async () => {
    const bin = join(dir, 'bin-no-qemu');
    mkdirSync(bin, { recursive: true });
    for (const tool of ['sh', 'id', 'cat']) symlinkSync(findOnPath(tool)!, join(bin, tool));
    const r = await doctor([], { PATH: bin });
    expect(r.exitCode).toBe(3);
    expect(String(r.stdout)).toContain(`[✗] QEMU for ${ARCH} guests: not found`);
    expect(String(r.stdout)).toMatch(
      /A VM run cannot start here\. Missing:\n {2}- QEMU for \S+ guests: not found\n {4}→ apt-get install -y --no-install-recommends qemu-system-/,
    );
  });

  it('an unsafe runtime folder: exit 3 with the folder and the fix; doctor itself leaves it as it is', async () => {
    const loose = join(dir, 'loose');
    mkdirSync(loose, { mode: 0o755 });
    const r = await doctor([], { NSLAB_RUNTIME_DIR: loose });
    expect(r.exitCode).toBe(3);
    expect(String(r.stdout)).toContain(`[✗] runtime folder ${loose} (from NSLAB_RUNTIME_DIR) has mode 0755`);
    expect(String(r.stdout)).toContain(`chmod 700 ${loose}`);
    expect(statSync(loose).mode & 0o777).toBe(0o755);
  });
});

// --recheck on a host whose kvm fails, reproduced with a stand-in KVM device and a stand-in QEMU.
describe.runIf(realQemu('x86_64') && ARCH === 'x86_64')(
  `nslab doctor --recheck${skipNote(realQemu('x86_64') && ARCH === 'x86_64', 'needs an x86_64 host with qemu-system-x86_64')}`,
  () => {
    beforeAll(() => projectImage('x86_64'), 300_000);

    it('forgets the verdicts, boots a trial VM, and shows the new verdict in QEMU words; nothing left', async () => {
      const kvm = join(dir, 'kvm');
      writeFileSync(kvm, '');
      const state = join(dir, 'recheck-state');
      mkdirSync(join(state, 'nslab'), { recursive: true });
      writeFileSync(
        join(state, 'nslab', 'accel-verdicts.json'),
        JSON.stringify({ version: 1, verdicts: [{ key: { accel: 'kvm' }, ok: true, checkedAt: 'old' }] }),
      );
      const qemu = standInQemu(join(dir, 'abort-bin'), 'abort');
      const runtime = mkdtempSync(join(dir, 'run-'));
      const r = await doctor(['--recheck', '--qemu', qemu], {
        NSLAB_KVM_DEVICE: kvm,
        XDG_STATE_HOME: state,
        NSLAB_RUNTIME_DIR: runtime,
      });
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(String(r.stderr)).toContain('forgot 1 remembered accelerator verdict(s)');
      expect(String(r.stderr)).toContain(
        'vm: kvm failed: QEMU aborted: failed to set MSR 0x10a to 0x69; booting again under tcg',
      );
      expect(String(r.stdout)).toContain('[!] kvm: fails here, VMs run under TCG (slow)');
      expect(String(r.stdout)).toMatch(/trial boot on \S+: QEMU aborted: failed to set MSR 0x10a to 0x69/);
      expect(String(r.stdout)).toContain('A VM run can start here (accelerator: tcg).');
      const verdicts = JSON.parse(readFileSync(join(state, 'nslab', 'accel-verdicts.json'), 'utf8')).verdicts;
      expect(verdicts).toMatchObject([{ ok: false, key: { accel: 'kvm', qemu } }]);
      expect(await qemuProcessesWith(runtime)).toEqual([]);
    }, 120_000);
  },
);
