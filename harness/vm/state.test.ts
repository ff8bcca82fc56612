import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { plantVmFolder } from '../../test/helpers/planted-vm.ts';
import { alive, cleanupStale, readState, runningState, stateProblem } from './state.ts';
import { skipNote } from '../../test/helpers/tools.ts';
import { platformFor } from '../platform/index.ts';

const base = mkdtempSync(join(tmpdir(), 'nslab-state-test-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const freshRoot = () => {
  const d = join(base, `root-${n++}`);
  mkdirSync(d, { mode: 0o700 });
  return d;
};

describe('stateProblem (pure)', () => {
  const dir = '/run/nslab-0/vm-ab12';
  const good = {
    id: 'ab12',
    name: 'nslab-ab12',
    pid: 4242,
    ownerPid: 4241,
    sshPort: 2222,
    qmp: { socket: `${dir}/qmp.sock` },
    clientKeyFile: `${dir}/client_key`,
    hostKeyBlob: 'AAAA',
  };
  it('accepts what nslab writes for that folder', () => {
    expect(stateProblem(dir, good, platformFor('linux'))).toBeUndefined();
    expect(
      stateProblem(dir, { ...good, qmp: { port: 4444, pskDir: dir } }, platformFor('win32')),
    ).toBeUndefined();
  });
  it('Windows: refuses a QMP port without its TLS key, or with a key from another folder', () => {
    for (const qmp of [{ port: 4444 }, { port: 4444, pskDir: '/tmp/elsewhere' }])
      expect(stateProblem(dir, { ...good, qmp }, platformFor('win32'))).toMatch(/QMP address/);
  });
  it.each([
    ['not an object', 'null', /is not a JSON object/],
    [
      'another VM',
      { ...good, name: 'nslab-ffff', id: 'ffff' },
      /names another VM \(nslab-ffff\) than its folder vm-ab12/,
    ],
    ['pid -1 (kill(-1) would hit every process)', { ...good, pid: -1 }, /no valid pid/],
    ['a pid as text', { ...good, pid: '4242' }, /no valid pid/],
    ['port 0', { ...good, sshPort: 0 }, /no valid sshPort/],
    ['a port as a pattern', { ...good, sshPort: '22|.*' }, /no valid sshPort/],
    ['a QMP socket elsewhere', { ...good, qmp: { socket: '/tmp/x/qmp.sock' } }, /QMP address/],
    ['a client key elsewhere', { ...good, clientKeyFile: '/etc/shadow' }, /client key outside its folder/],
  ])('refuses a state with %s', (_what, state, want) => {
    expect(stateProblem(dir, state === 'null' ? null : state, platformFor('linux'))).toMatch(want);
  });
});

describe.runIf(process.platform === 'linux')(
  `cleanupStale and runningState on planted folders (Linux)${skipNote(process.platform === 'linux', 'Linux only')}`,
  () => {
    it('a planted state with a foreign PID (a sleep): not signalled, not running, its folder removed', async () => {
      const root = freshRoot();
      const sleep = execa('sleep', ['30'], { reject: false });
      try {
        const dir = plantVmFolder(root, 'aa01', { pid: sleep.pid!, keep: false });
        expect(await runningState(dir)).toBeUndefined();
        expect(await cleanupStale(root)).toEqual([]);
        expect(alive(sleep.pid!)).toBe(true);
        expect(existsSync(dir)).toBe(false);
      } finally {
        sleep.kill('SIGKILL');
        await sleep;
      }
    });

    it('folders and files that fail their checks are left alone and named in a warning', async () => {
      const root = freshRoot();
      const elsewhere = plantVmFolder(freshRoot(), 'bb02', { keep: false });
      symlinkSync(elsewhere, join(root, 'vm-bb02'));
      const loose = plantVmFolder(root, 'cc03', { keep: false });
      chmodSync(join(loose, 'state.json'), 0o666);
      const pidLink = plantVmFolder(root, 'dd04', { keep: false });
      symlinkSync('/etc/hostname', join(pidLink, 'qemu.pid'));
      const bogus = plantVmFolder(root, 'ee05', { keep: false });
      writeFileSync(join(bogus, 'state.json'), JSON.stringify({ id: 'ee05', name: 'nslab-ee05', pid: -1 }), {
        mode: 0o600,
      });
      const warnings: string[] = [];
      expect(await cleanupStale(root, (l) => warnings.push(l))).toEqual([]);
      expect(warnings.sort()).toEqual([
        expect.stringMatching(
          /^vm: left .*vm-bb02 alone: the VM folder .*vm-bb02 is a symlink to .*vm-bb02:/,
        ),
        expect.stringMatching(
          /^vm: left .*vm-cc03 alone: .*state\.json has mode 0666: group or others may write/,
        ),
        expect.stringMatching(/^vm: left .*vm-dd04 alone: .*qemu\.pid is a symlink to \/etc\/hostname/),
        expect.stringMatching(/^vm: left .*vm-ee05 alone: .*state\.json has no valid pid/),
      ]);
      for (const d of ['vm-bb02', 'vm-cc03', 'vm-dd04', 'vm-ee05'])
        expect(existsSync(join(root, d))).toBe(true);
      expect(existsSync(elsewhere)).toBe(true);
    });

    it('readState refuses (exit 3) what cleanup leaves alone', async () => {
      const root = freshRoot();
      const dir = plantVmFolder(root, 'ff06');
      chmodSync(dir, 0o755);
      await expect(readState(dir)).rejects.toMatchObject({
        exitCode: 3,
        message: expect.stringMatching(/the VM folder .*vm-ff06 has mode 0755, with group or other bits/),
        hint: `chmod 700 ${dir}`,
      });
    });
  },
);
