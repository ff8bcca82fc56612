import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/vm/port.ts';
import { alive, sleep } from '../harness/util/process.ts';
import { guestlessQemu, plantVmFolder } from './helpers/planted-vm.ts';
import { skipNote } from './helpers/tools.ts';
import { realQemu } from './helpers/stand-in-qemu.ts';

// The runtime folder and what is read back from it, end to end through the CLI, on real folders and processes.
const BIN = new URL('../bin/nslab.mjs', import.meta.url).pathname;
const uid = process.getuid?.();
const isRoot = uid === 0;
const hasQemu = realQemu('x86_64') !== undefined;
const base = mkdtempSync(join(tmpdir(), 'nslab-rt-cli-'));
chmodSync(base, 0o755); // another user (setpriv below) must reach the folders prepared in it
afterAll(() => rmSync(base, { recursive: true, force: true }));

let n = 0;
/** A fresh folder in `base`, 0700 unless told. */
const folder = (mode = 0o700) => {
  const d = join(base, `f${n++}`);
  mkdirSync(d);
  chmodSync(d, mode);
  return d;
};
const NO_RUNTIME_ENV = { NSLAB_RUNTIME_DIR: undefined, XDG_RUNTIME_DIR: undefined, TMPDIR: undefined };
const nslab = (args: string[], env: Record<string, string | undefined>) =>
  execa('node', [BIN, ...args], { reject: false, env: { ...NO_RUNTIME_ENV, ...env } });
/** The same, as uid/gid 65534 with no supplementary groups. */
const nslabAsNobody = (args: string[], env: Record<string, string | undefined>) =>
  execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'node', BIN, ...args], {
    reject: false,
    env: { ...NO_RUNTIME_ENV, HOME: '/nonexistent', ...env },
  });

describe.runIf(uid !== undefined)(
  `the runtime folder is checked before anything is kept in it (POSIX hosts: owner and mode)${skipNote(uid !== undefined, 'POSIX hosts only')}`,
  () => {
    it('<TMPDIR>/nslab-<uid> planted as a symlink to a world-writable folder: vm up refuses (exit 3), nothing lands there', async () => {
      const tmp = folder(0o1777);
      const open = folder(0o777);
      symlinkSync(open, join(tmp, `nslab-${uid}`));
      const r = await nslab(['vm', 'up'], { TMPDIR: tmp });
      expect(r.exitCode, String(r.stderr)).toBe(3);
      expect(String(r.stderr)).toContain(
        `nslab: the runtime folder ${tmp}/nslab-${uid} (from TMPDIR) is a symlink to ${open}: nslab keeps private keys there and will not use it`,
      );
      expect(String(r.stderr)).toContain(
        `→ remove the link (rm ${tmp}/nslab-${uid}), or set XDG_RUNTIME_DIR`,
      );
      expect(readdirSync(open)).toEqual([]);
    });

    it.each(['NSLAB_RUNTIME_DIR', 'XDG_RUNTIME_DIR'] as const)(
      'a %s so long that the sockets would not fit 108 bytes: exit 3 before QEMU starts, the hint names it',
      async (variable) => {
        // A real folder: <base>/f<n>/aaaa…, grown until secrets.sock in a run folder is 108 bytes with its NUL.
        const parent = folder();
        const suffix =
          `/vm-12345678/secrets.sock`.length + (variable === 'XDG_RUNTIME_DIR' ? `/nslab-${uid}`.length : 0);
        const long = join(parent, 'a'.repeat(108 - suffix - parent.length - 1));
        mkdirSync(long, { mode: 0o700 });
        const runtime = variable === 'XDG_RUNTIME_DIR' ? join(long, `nslab-${uid}`) : long;
        const sock = `${runtime}/vm-12345678/secrets.sock`;
        expect(Buffer.byteLength(sock)).toBe(108);
        const r = await nslab(
          ['scenario', 'pid-ns', '--target', 'vm', '--accel', 'tcg', '--report-dir', join(parent, 'r')],
          {
            [variable]: long,
          },
        );
        expect(r.exitCode, String(r.stderr)).toBe(3);
        expect(String(r.stderr)).toMatch(
          new RegExp(
            `the QMP and secrets sockets would be at ${runtime.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/vm-[0-9a-f]{8}/secrets\\.sock, 108 bytes: longer than this host's limit of 107 for a Unix socket path`,
          ),
        );
        expect(String(r.stderr)).toContain(
          variable === 'NSLAB_RUNTIME_DIR'
            ? 'point NSLAB_RUNTIME_DIR at a shorter folder of yours (mode 0700)'
            : 'the folder comes from XDG_RUNTIME_DIR: set NSLAB_RUNTIME_DIR to a shorter folder of yours (mode 0700)',
        );
        expect(String(r.stderr)).not.toMatch(/QEMU started|accelerat.* failed/);
        expect(readdirSync(runtime)).toEqual([]);
      },
      120_000,
    );

    it('$XDG_RUNTIME_DIR/nslab-<uid> with mode 0755: refused, exit 3, the fix is chmod 700', async () => {
      const xdg = folder();
      mkdirSync(join(xdg, `nslab-${uid}`));
      chmodSync(join(xdg, `nslab-${uid}`), 0o755);
      const r = await nslab(['vm', 'status'], { XDG_RUNTIME_DIR: xdg });
      expect(r.exitCode).toBe(3);
      expect(String(r.stderr)).toContain(
        `${xdg}/nslab-${uid} (from XDG_RUNTIME_DIR) has mode 0755, with group or other bits; it must be 0700`,
      );
      expect(String(r.stderr)).toContain(`→ chmod 700 ${xdg}/nslab-${uid}, or set XDG_RUNTIME_DIR`);
    });

    it.each([
      ['0750', 0o750],
      ['0705', 0o705],
      ['0777', 0o777],
    ] as const)(
      'NSLAB_RUNTIME_DIR with mode %s: vm ssh, vm down and vm status refuse (exit 3)',
      async (label, mode) => {
        const d = folder(mode);
        for (const cmd of [
          ['vm', 'ssh'],
          ['vm', 'down'],
          ['vm', 'status'],
        ]) {
          const r = await nslab(cmd, { NSLAB_RUNTIME_DIR: d });
          expect(r.exitCode, cmd.join(' ')).toBe(3);
          expect(String(r.stderr)).toContain(
            `the runtime folder ${d} (from NSLAB_RUNTIME_DIR) has mode ${label}`,
          );
          expect(String(r.stderr)).toContain(
            `→ chmod 700 ${d}, or point NSLAB_RUNTIME_DIR at a folder of yours`,
          );
        }
        expect(lstatSync(d).mode & 0o777).toBe(mode); // refused, not "fixed" behind the user's back
      },
    );

    it('a missing folder is created with mode 0700 even under umask 000', async () => {
      const tmp = folder(0o1777);
      const r = await execa('sh', ['-c', `umask 000 && exec node ${BIN} vm status`], {
        reject: false,
        env: { ...NO_RUNTIME_ENV, TMPDIR: tmp },
      });
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(String(r.stdout)).toBe('no VM is running');
      const st = lstatSync(join(tmp, `nslab-${uid}`));
      expect(st.isDirectory()).toBe(true);
      expect(st.mode & 0o7777).toBe(0o700);
      expect(st.uid).toBe(uid);
    });
  },
);

describe.runIf(isRoot)(
  `as root: folders of another user (chown and setpriv need root)${skipNote(isRoot, 'needs root')}`,
  () => {
    it('a runtime folder owned by uid 65534 is refused (exit 3)', async () => {
      const d = folder();
      chownSync(d, 65534, 65534);
      const r = await nslab(['vm', 'status'], { NSLAB_RUNTIME_DIR: d });
      expect(r.exitCode).toBe(3);
      expect(String(r.stderr)).toContain(
        `${d} (from NSLAB_RUNTIME_DIR) is owned by uid 65534, not by you (uid 0)`,
      );
      expect(String(r.stderr)).toContain(`→ have uid 65534 or root remove it (rm -rf ${d})`);
    });

    it('as uid 65534: a nslab-65534 that root made in advance in a shared TMPDIR is refused (exit 3)', async () => {
      const tmp = folder(0o1777);
      mkdirSync(join(tmp, 'nslab-65534'), { mode: 0o700 });
      const r = await nslabAsNobody(['vm', 'status'], { TMPDIR: tmp });
      expect(r.exitCode, String(r.stderr)).toBe(3);
      expect(String(r.stderr)).toContain(
        `the runtime folder ${tmp}/nslab-65534 (from TMPDIR) is owned by uid 0, not by you (uid 65534)`,
      );
    });

    it('as uid 65534: NSLAB_RUNTIME_DIR pointing at a folder of root is refused (exit 3)', async () => {
      const tmp = folder(0o1777);
      const d = folder(0o755);
      const r = await nslabAsNobody(['vm', 'status'], { TMPDIR: tmp, NSLAB_RUNTIME_DIR: d });
      expect(r.exitCode, String(r.stderr)).toBe(3);
      expect(String(r.stderr)).toContain(
        `${d} (from NSLAB_RUNTIME_DIR) is owned by uid 0, not by you (uid 65534)`,
      );
    });

    it('as uid 65534: a free name in a shared TMPDIR is created 0700 and owned by 65534', async () => {
      const tmp = folder(0o1777);
      const r = await nslabAsNobody(['vm', 'status'], { TMPDIR: tmp });
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(String(r.stdout)).toBe('no VM is running');
      const st = lstatSync(join(tmp, 'nslab-65534'));
      expect({ uid: st.uid, mode: st.mode & 0o7777 }).toEqual({ uid: 65534, mode: 0o700 });
    });
  },
);

describe.runIf(process.platform === 'linux')(
  `planted VM folders: nslab signals and connects only to what it started (Linux: /proc command lines)${skipNote(process.platform === 'linux', 'Linux only')}`,
  () => {
    it('a state.json naming a foreign PID (a sleep): vm down signals nothing, the sleep survives', async () => {
      const root = folder();
      const victim = execa('sleep', ['60'], { reject: false });
      try {
        plantVmFolder(root, 'a1b2c3d4', { pid: victim.pid! });
        const down = await nslab(['vm', 'down'], { NSLAB_RUNTIME_DIR: root });
        expect(down.exitCode, String(down.stderr)).toBe(0);
        expect(String(down.stdout)).toBe('no VM is running');
        const ssh = await nslab(['vm', 'exec', '--', 'true'], { NSLAB_RUNTIME_DIR: root });
        expect(ssh.exitCode).toBe(3);
        expect(String(ssh.stderr)).toContain('no VM is running');
        await sleep(200);
        expect(alive(victim.pid!)).toBe(true);
      } finally {
        victim.kill('SIGKILL');
        await victim;
      }
    });

    it('a state.json others may write: vm down refuses (exit 3) and says how to fix it', async () => {
      const root = folder();
      const dir = plantVmFolder(root, 'b1b2c3d4');
      chmodSync(join(dir, 'state.json'), 0o666);
      const r = await nslab(['vm', 'down'], { NSLAB_RUNTIME_DIR: root });
      expect(r.exitCode).toBe(3);
      expect(String(r.stderr)).toContain(`${dir}/state.json has mode 0666: group or others may write to it`);
      expect(String(r.stderr)).toContain(`→ remove the VM folder (rm -rf ${dir})`);
    });

    it.runIf(hasQemu)(
      `a state.json with a port its QEMU did not open: vm exec, vm ssh, vm down refuse (exit 3); the right port works${skipNote(hasQemu, 'needs qemu-system-x86_64')}`,
      async () => {
        const root = folder();
        const id = 'c1c2c3d4';
        const dir = join(root, `vm-${id}`);
        mkdirSync(dir, { mode: 0o700 });
        const port = await freePort();
        const qemu = guestlessQemu(dir, id, port);
        try {
          for (let i = 0; i < 250 && !existsSync(join(dir, 'qmp.sock')); i++) await sleep(20);
          expect(existsSync(join(dir, 'qmp.sock'))).toBe(true);
          plantVmFolder(root, id, { pid: qemu.pid!, sshPort: port + 1 });
          for (const cmd of [
            ['vm', 'exec', '--', 'true'],
            ['vm', 'ssh'],
            ['vm', 'down'],
            ['vm', 'status'],
          ]) {
            const r = await nslab(cmd, { NSLAB_RUNTIME_DIR: root });
            expect(r.exitCode, `${cmd.join(' ')}: ${r.stderr}`).toBe(3);
            expect(String(r.stderr)).toContain(
              `${dir}/state.json does not match its QEMU (pid ${qemu.pid}): the state says ssh on 127.0.0.1:${port + 1}`,
            );
            expect(String(r.stderr)).toContain(
              `→ stop that QEMU yourself (kill ${qemu.pid}) and remove the VM folder`,
            );
          }
          expect(alive(qemu.pid!)).toBe(true);

          // The state that nslab itself would have written: attached, listed, stopped over QMP.
          plantVmFolder(root, id, { pid: qemu.pid!, sshPort: port });
          const status = await nslab(['vm', 'status'], { NSLAB_RUNTIME_DIR: root });
          expect(String(status.stdout)).toMatch(
            new RegExp(
              `^nslab-${id} +pid ${qemu.pid} +x86_64 +tcg +ssh 127\\.0\\.0\\.1:${port} +network open +kept`,
            ),
          );
          const down = await nslab(['vm', 'down'], { NSLAB_RUNTIME_DIR: root });
          expect(down.exitCode, String(down.stderr)).toBe(0);
          expect(String(down.stdout)).toBe(`stopped nslab-${id}`);
          const exited = await qemu;
          expect(exited.exitCode).toBe(0); // QMP quit, not a signal
          expect(existsSync(dir)).toBe(false);
        } finally {
          qemu.kill('SIGKILL');
          await qemu;
        }
      },
    );
  },
);
