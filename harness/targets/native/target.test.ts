import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideAccess, parseAccessFacts, type AccessFacts } from './access.ts';
import { NativeTarget } from './target.ts';
import { runScenario } from '../../scenario/run.ts';
import { USERNS_DISABLED } from '../../../test/helpers/userns-off.ts';
import { loadScenarioFile } from '../../scenario/load.ts';
import { DEFAULT_SCENARIOS_DIR } from '../../cli/paths.ts';
import { skipNote } from '../../../test/helpers/tools.ts';

const isRoot = process.getuid?.() === 0;
const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];
const base: AccessFacts = {
  platform: 'linux',
  uid: 1000,
  unshareFound: true,
  pidNamespaces: true,
  sudo: false,
  userns: false,
};

describe('decideAccess (pure)', () => {
  it.each<[string, Partial<AccessFacts>, string]>([
    ['root', { uid: 0 }, 'access:root'],
    ['sudo -n works', { sudo: true }, 'access:sudo'],
    ['a user namespace works', { userns: true }, 'access:userns'],
    ['sudo is preferred to userns', { sudo: true, userns: true }, 'access:sudo'],
    ['macOS', { platform: 'darwin' }, 'skip:not-linux'],
    ['Windows', { platform: 'win32', unshareFound: false }, 'skip:not-linux'],
    ['no unshare', { unshareFound: false, uid: 0 }, 'skip:tool-missing:unshare'],
    ['no PID namespaces', { pidNamespaces: false, uid: 0 }, 'skip:kernel-config:CONFIG_PID_NS'],
    ['AppArmor restriction', { apparmorRestrictsUserns: 1, maxUserNamespaces: 100 }, 'skip:apparmor-userns'],
    ['unprivileged_userns_clone=0', { unprivilegedUsernsClone: 0 }, 'skip:userns-disabled'],
    ['max_user_namespaces=0', { maxUserNamespaces: 0 }, 'skip:userns-disabled'],
    ['nothing else explains it', { maxUserNamespaces: 100 }, 'skip:needs-root'],
  ])('%s → %s', (_what, facts, expected) => {
    const [kind, ...rest] = expected.split(':');
    // An access is the access alone; a skip is its reason, what was found and what to do (a hint, always).
    expect(decideAccess({ ...base, ...facts })).toEqual(
      kind === 'access'
        ? { access: rest.join(':') }
        : {
            skip: {
              reason: rest.join(':'),
              detail: expect.stringMatching(/\S/),
              hint: expect.stringMatching(/\S/),
            },
          },
    );
  });

  it('parses the facts script output', () => {
    const f = parseAccessFacts(
      'uid=1000\nunshare=1\npidns=1\nuser/max_user_namespaces=0\nsudo=0\nuserns=0\n',
      'linux',
    );
    expect(f).toMatchObject({
      uid: 1000,
      unshareFound: true,
      pidNamespaces: true,
      maxUserNamespaces: 0,
      sudo: false,
      userns: false,
    });
  });
});

describe('NativeTarget on this machine', () => {
  let pidNs: Awaited<ReturnType<typeof loadScenarioFile>>;
  let noUnshare: string;
  beforeAll(async () => {
    pidNs = await loadScenarioFile(join(DEFAULT_SCENARIOS_DIR, 'pid-ns.yaml'));
    // A PATH with the tools the facts script needs but no unshare.
    noUnshare = mkdtempSync(join(tmpdir(), 'nslab-path-'));
    for (const tool of ['sh', 'id', 'cat', 'sudo', 'uname']) {
      const which = await execa('sh', ['-c', 'command -v "$1"', 'sh', tool], { reject: false });
      if (which.exitCode === 0) symlinkSync(which.stdout.trim(), join(noUnshare, tool));
    }
  });
  afterAll(() => rmSync(noUnshare, { recursive: true, force: true }));

  it.runIf(isRoot)(`as root, runs pid-ns and passes${skipNote(isRoot, 'needs root')}`, async () => {
    const target = new NativeTarget();
    const { info, skip } = await target.prepare();
    expect(skip).toBeUndefined();
    expect(info.access).toBe('root');
    const result = await runScenario(pidNs, target, { info });
    expect(result.status).toBe('pass');
    expect(result.observations?.inside.pid).toBe(1);
    expect(result.observations?.outside.pid).not.toBe(1);
  });

  /**
   * What nobody can do on this host, found without nslab's facts script: its uid, whether `sudo -n` works
   * for it, and whether an unprivileged `unshare` can make a user namespace (with a PID namespace in it).
   */
  const asNobody = async () => {
    const sh = (script: string) =>
      execa(NOBODY[0]!, [...NOBODY.slice(1), 'sh', '-c', script], { reject: false });
    const userns = await sh('unshare --user --map-root-user --pid --fork --mount-proc true');
    return {
      uid: (await sh('id -u')).stdout.trim(),
      sudo: (await sh('sudo -n true')).exitCode === 0,
      userns: userns.exitCode === 0,
      why: userns.stderr.trim() || `exit ${userns.exitCode}`,
    };
  };

  it.runIf(isRoot)(
    `as an unprivileged user where the kernel lets it make a user namespace: rootless, and pid-ns passes${skipNote(isRoot, 'needs root')}`,
    async (ctx) => {
      const host = await asNobody();
      expect(host.uid).toBe('65534');
      if (host.sudo) return ctx.skip('sudo -n works for nobody here: the target would use sudo');
      if (!host.userns) return ctx.skip(`nobody cannot make a user namespace here: ${host.why}`);
      const target = new NativeTarget({ prefix: NOBODY });
      const { info, skip } = await target.prepare();
      expect(skip).toBeUndefined();
      expect(info.access).toBe('userns');
      const result = await runScenario(pidNs, target, { info });
      expect(result.status).toBe('pass');
      expect(result.observations?.inside.pid).toBe(1);
      expect(result.observations?.outside.nspid?.at(-1)).toBe(1);
    },
  );

  it.runIf(isRoot)(
    `as an unprivileged user where the kernel does not let it: a named skip${skipNote(isRoot, 'needs root')}`,
    async (ctx) => {
      const host = await asNobody();
      expect(host.uid).toBe('65534');
      if (host.sudo) return ctx.skip('sudo -n works for nobody here: the target would use sudo');
      if (host.userns)
        return ctx.skip(
          'nobody can make a user namespace here (the test above runs); see also the next test',
        );
      const { info, skip } = await new NativeTarget({ prefix: NOBODY }).prepare();
      expect(info.access).toBeUndefined();
      expect(skip?.reason).toMatch(/^(needs-root|userns-disabled|apparmor-userns)$/);
    },
  );

  it.runIf(isRoot)(
    `user namespaces switched off (max_user_namespaces=0, in a throwaway user namespace), as nobody: userns-disabled${skipNote(isRoot, 'needs root')}`,
    async () => {
      const target = new NativeTarget({ prefix: USERNS_DISABLED });
      const { skip, info } = await target.prepare();
      expect(skip?.reason).toBe('userns-disabled');
      expect(skip?.detail).toMatch(/max_user_namespaces/);
      expect(info.access).toBeUndefined();
      // The same words really are that host: nobody, and unshare -U fails.
      const r = await execa(
        USERNS_DISABLED[0]!,
        [...USERNS_DISABLED.slice(1), 'sh', '-c', 'id -u; unshare -U true'],
        {
          reject: false,
        },
      );
      expect(r.stdout.trim()).toBe('65534');
      expect(r.stderr).toMatch(/No space left on device/);
    },
  );

  it('without unshare on PATH: skip tool-missing:unshare', async () => {
    const target = new NativeTarget({ env: { PATH: noUnshare } });
    const { skip, info } = await target.prepare();
    expect(skip?.reason).toBe('tool-missing:unshare');
    expect(info.uname).toMatch(/Linux/);
  });

  it('on another OS: skip not-linux, with the host uname recorded', async () => {
    const { skip, info } = await new NativeTarget({ platform: 'darwin' }).prepare();
    expect(skip?.reason).toBe('not-linux');
    expect(info.uname.length).toBeGreaterThan(0);
  });
});
