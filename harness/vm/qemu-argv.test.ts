import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { ARCHES, type Arch } from '../image/arch.ts';
import { sleep } from '../util/process.ts';
import { cpuModel } from './accel.ts';
import { freePort } from './port.ts';
import { qemuArgv } from './qemu-argv.ts';
import { whpxProbeArgv } from './probe-accel.ts';
import { findQemu } from './qemu-binary.ts';
import { qmpCommand, type QmpAddress } from './qmp.ts';
import { combinationName, possibleCombinations } from '../../test/helpers/accel-matrix.ts';
import { platformFor } from '../platform/index.ts';

// Each Linux command line of the matrix, given to the real QEMU of this machine with -S: QEMU parses every
// option, builds the machine and its devices, opens the files and sockets, but runs no guest code. So this
// checks the command line itself, in well under a second per combination; vm.test.ts does the real boot.

const qemuFor: Partial<Record<Arch, string>> = {};
for (const arch of ARCHES) qemuFor[arch] = await findQemu(arch, platformFor('linux')).catch(() => undefined);

/**
 * The same command line under TCG, the only accelerator every machine has: accel=tcg in -machine, and the
 * TCG model instead of `-cpu host`, which is the host CPU passed through by KVM (qemu-system-x86_64 under TCG:
 * "CPU model 'host' requires KVM or HVF"; qemu-system-aarch64 on an x86 host has no `host` model at all).
 * Everything else stays as qemuArgv built it.
 */
function underTcg(argv: string[], guestArch: Arch): string[] {
  return argv.map((a, i) => {
    if (argv[i - 1] === '-machine') return a.replace(/accel=\w+/, 'accel=tcg');
    if (argv[i - 1] === '-cpu' && a === 'host') return cpuModel('tcg', guestArch);
    return a;
  });
}

/**
 * The smallest file QEMU loads as a kernel of that architecture. QEMU reads -kernel while it builds the
 * machine, even under -S: for x86 it needs a Linux boot-protocol header (an empty file fails with "could not
 * load kernel", a file of zeros with "linux kernel too old to load a ram disk"); for arm64 this is an Image
 * header. No guest code runs, so the rest stays zeros.
 */
function tinyKernel(arch: Arch): Buffer {
  if (arch === 'x86_64') {
    const k = Buffer.alloc(8192);
    k[0x1f1] = 4; // setup_sects: 4 sectors of real-mode setup before the protected-mode part
    k.writeUInt16LE(0xaa55, 0x1fe); // boot_flag
    k.write('HdrS', 0x202, 'latin1'); // header magic
    k.writeUInt16LE(0x0200, 0x206); // boot protocol 2.00, the first that takes an initrd
    k[0x211] = 0x01; // loadflags: LOADED_HIGH
    return k;
  }
  const k = Buffer.alloc(4096);
  k.writeBigUInt64LE(4096n, 16); // image_size
  k.write('ARM\x64', 56, 'latin1'); // arm64 Image magic
  return k;
}

const SPAWN = { reject: false, stdin: 'ignore' } as const;
type Qemu = ResultPromise<typeof SPAWN>;

/** Asks query-status until QEMU answers, or fails with QEMU's stderr if it exits first. */
async function statusOnceUp(qemu: Qemu, qmp: QmpAddress, stderr: () => string): Promise<unknown> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (qemu.exitCode !== null)
      throw new Error(`QEMU exited with ${qemu.exitCode} before QMP answered:\n${stderr()}`);
    try {
      return await qmpCommand(qmp, 'query-status', 2000);
    } catch (e) {
      // The socket appears while QEMU starts; until then connecting fails with ENOENT or ECONNREFUSED.
      if (Date.now() > deadline)
        throw new Error(`QMP did not answer in 15 s: ${String(e)}\n${stderr()}`, { cause: e });
      await sleep(50);
    }
  }
}

let running: Qemu | undefined;
let dir: string | undefined;
afterEach(async () => {
  if (running && running.exitCode === null) {
    running.kill('SIGKILL');
    await running;
  }
  running = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('every Linux command line of the matrix starts the real QEMU (under TCG, with -S)', () => {
  const linux = possibleCombinations().filter((c) => c.platform === 'linux');

  it('covers kvm and tcg for both guests', () => {
    expect(linux.map(combinationName).sort()).toEqual([
      'linux aarch64 kvm',
      'linux aarch64 tcg',
      'linux x86_64 kvm',
      'linux x86_64 tcg',
    ]);
  });

  for (const c of linux) {
    const bin = qemuFor[c.guestArch];
    const name = `${combinationName(c)}${bin ? '' : ` (skipped: qemu-system-${c.guestArch} is not on PATH)`}`;
    it.skipIf(!bin)(name, async () => {
      dir = mkdtempSync(join(tmpdir(), 'nslab-argv-'));
      const kernel = join(dir, 'kernel');
      const initrd = join(dir, 'initrd.img');
      writeFileSync(kernel, tinyKernel(c.guestArch));
      writeFileSync(initrd, Buffer.alloc(1024));
      const qmp = { socket: join(dir, 'qmp.sock') };
      const pidfile = join(dir, 'qemu.pid');
      const built = qemuArgv({
        platform: 'linux',
        guestArch: c.guestArch,
        accel: c.accel,
        kernel,
        initrd,
        cmdline: 'console=ttyS0',
        sshPort: await freePort(),
        consoleLog: join(dir, 'console.log'),
        qmp,
        pidfile,
        name: `nslab-argv-test-${process.pid}`,
      });
      const argv = underTcg(built, c.guestArch);
      // Only the accelerator (and `-cpu host`) differ from what the harness would run.
      expect(argv.filter((a, i) => a !== built[i]).length).toBe(c.accel === 'tcg' ? 0 : 2);

      let stderr = '';
      const qemu = execa(bin!, [...argv, '-S'], SPAWN);
      running = qemu;
      qemu.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));

      expect(await statusOnceUp(qemu, qmp, () => stderr)).toMatchObject({
        status: expect.stringMatching(/^(prelaunch|paused)$/), // -S: built, not started
        running: false,
      });
      expect(Number(readFileSync(pidfile, 'utf8'))).toBe(qemu.pid);
      await qmpCommand(qmp, 'quit');
      const result = await qemu;
      expect(result.exitCode, stderr).toBe(0);
      expect(stderr).not.toMatch(/invalid|unsupported|option|error|warn|deprecat/i);
    });
  }
});

describe('the WHPX trial command line, run by the real QEMU here with tcg for whpx', () => {
  for (const arch of ARCHES) {
    const bin = qemuFor[arch];
    it.skipIf(!bin)(`${arch}${bin ? '' : ` (skipped: qemu-system-${arch} is not on PATH)`}`, async () => {
      // As probeAccelerators runs it: QMP on stdin, capabilities then quit.
      const argv = whpxProbeArgv(arch).map((a) => (a === 'whpx' ? 'tcg' : a));
      const r = await execa(bin!, argv, {
        reject: false,
        input: '{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n',
        timeout: 10_000,
      });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain('"return": {}');
    });
  }
});
