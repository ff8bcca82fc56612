import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Arch } from '../harness/vocabulary.ts';
import { projectImage, qemuProcessesWith } from './helpers/image.ts';
import { realQemu, standInQemu } from './helpers/stand-in-qemu.ts';
import { findOnPath, skipNote } from './helpers/tools.ts';

// `nslab doctor` on this very host: its findings must match what the host really has, as the shell and the
// files say it (uname, command -v, the cache's own manifests), not as nslab's own functions compute it.
const BIN = new URL('../bin/nslab.mjs', import.meta.url).pathname;
const uname = (flag: string) => execaSync('uname', [flag]).stdout;
// On Linux, uname -m names the architectures as nslab does (x86_64, aarch64).
const ARCH = uname('-m') as Arch;
/** Where `sh` finds a program on PATH, or undefined. */
const commandV = (name: string) => {
  const r = execaSync('sh', ['-c', 'command -v "$1"', 'sh', name], { reject: false });
  return r.exitCode === 0 ? r.stdout : undefined;
};
/** A clone's image cache is its vm-images folder; each image is a folder with its manifest.json. */
const CACHE = new URL('../vm-images', import.meta.url).pathname;
const cachedDigests = () =>
  (existsSync(CACHE) ? readdirSync(CACHE) : [])
    .filter((d) => existsSync(join(CACHE, d, 'manifest.json')))
    .map((d) => JSON.parse(readFileSync(join(CACHE, d, 'manifest.json'), 'utf8')).digest as string)
    .sort();
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
      platform: 'linux',
      arch: ARCH,
      os: uname('-s'),
      release: uname('-r'),
      version: uname('-v'),
    });
    // Both guest architectures, each QEMU where the shell finds it on PATH (none: no path).
    expect(f.qemu.map((q: { arch: string; path?: string }) => ({ arch: q.arch, path: q.path }))).toEqual([
      { arch: 'x86_64', path: commandV('qemu-system-x86_64') },
      { arch: 'aarch64', path: commandV('qemu-system-aarch64') },
    ]);
    expect(f.runtime).toMatchObject({ from: 'NSLAB_RUNTIME_DIR', exists: true });
    expect(f.runtime.problem).toBeUndefined();
    expect(f.cache.root).toBe(CACHE);
    expect(f.cache.images.map((i: { digest: string }) => i.digest).sort()).toEqual(cachedDigests());
    expect(f.native.uid).toBe(Number(execaSync('id', ['-u']).stdout));
    expect(f.tools.map((t: { name: string; path?: string }) => ({ name: t.name, path: t.path }))).toEqual(
      ['unshare', 'nsenter', 'ps'].map((name) => ({ name, path: commandV(name) })),
    );
    // A VM run can start here when QEMU for this host is there (a private runtime folder it is, and an
    // archive that answers, below); the exit code follows: 0 when it can, 3 when not.
    const qemuHere = commandV(`qemu-system-${ARCH}`) !== undefined;
    expect(r.exitCode).toBe(qemuHere ? 0 : 3);
    // Possible: QEMU for this host, a private runtime folder (it is), and a cached image or an archive
    // that answers (it does here: the build tests fetch from it).
    expect(f.builders.archive).toMatchObject({
      url: 'https://deb.debian.org/debian/dists/bookworm/InRelease',
      answers: true,
      detail: 'HTTP 200',
    });
    expect(report.vmPossible).toBe(qemuHere);
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
