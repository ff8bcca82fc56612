// The wsl target: WSL exists only on Windows, so wsl.exe is a stand-in here (a contract test). It records
// exactly what nslab sends (argv and WSL_UTF8), checks its shape, and then runs the command on this Linux
// machine, so that the native scenarios really run through the target, as they would inside the
// distribution.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SCENARIOS_DIR } from '../harness/cli/paths.ts';
import { buildView } from '../harness/report/view.ts';
import { runAll } from '../harness/run/run.ts';
import { loadScenarioDir } from '../harness/scenario/load.ts';
import { WslTarget, wslPrefix } from '../harness/targets/index.ts';
import { validateReport } from './helpers/report-schema.ts';

let dir: string;
let wsl: string;
let log: string;

/** Each call the stand-in saw: its WSL_UTF8 and its argv. */
function calls(): { utf8: string; argv: string[] }[] {
  return readFileSync(log, 'utf8')
    .split('\x1e')
    .filter(Boolean)
    .map((call) => {
      const [env, ...argv] = call.split('\x1f');
      return { utf8: env!.replace(/^WSL_UTF8=/, ''), argv };
    });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-wsl-'));
  log = join(dir, 'calls');
  wsl = join(dir, 'wsl.exe');
  writeFileSync(
    wsl,
    `#!/bin/sh
{ printf 'WSL_UTF8=%s' "\${WSL_UTF8-}"; for a; do printf '\\037%s' "$a"; done; printf '\\036'; } >> '${log}'
if [ "$1" = --distribution ]; then
  [ "$2" = Missing ] && { echo "There is no distribution with the supplied name." >&2; exit 1; }
  shift 2
fi
[ "$1" = --user ] && [ "$2" = root ] || { echo "stand-in wsl.exe: expected --user root: $*" >&2; exit 90; }
shift 2
[ "$1" = --exec ] || { echo "stand-in wsl.exe: expected --exec: $*" >&2; exit 91; }
shift
exec "$@"
`,
  );
  chmodSync(wsl, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the wsl target', () => {
  it('sends the distribution, root and --exec (no shell in between), or only root and --exec', () => {
    expect(wslPrefix('C:\\Windows\\System32\\wsl.exe', 'Debian')).toEqual([
      'C:\\Windows\\System32\\wsl.exe',
      '--distribution',
      'Debian',
      '--user',
      'root',
      '--exec',
    ]);
    expect(wslPrefix('wsl.exe')).toEqual(['wsl.exe', '--user', 'root', '--exec']);
  });

  it('is skipped as not-windows anywhere but Windows', async () => {
    const r = await new WslTarget({ wsl, platform: 'linux' }).prepare();
    expect(r.skip).toMatchObject({ reason: 'not-windows', hint: expect.stringContaining('--target') });
  });

  it('a distribution that does not exist: skipped as wsl-unavailable, quoting wsl.exe', async () => {
    const r = await new WslTarget({ wsl, platform: 'win32', distro: 'Missing' }).prepare();
    expect(r.skip).toMatchObject({
      reason: 'wsl-unavailable',
      detail: expect.stringContaining('There is no distribution with the supplied name.'),
    });
  });

  it('runs pid-ns inside the distribution: it passes, and the report shows WSL on Windows', async () => {
    rmSync(log, { force: true });
    const scenarios = (await loadScenarioDir(DEFAULT_SCENARIOS_DIR)).filter((s) => s.name === 'pid-ns');
    const report = await runAll({
      scenarios,
      targets: [new WslTarget({ wsl, platform: 'win32', distro: 'Debian' })],
    });
    const t = report.targets[0]!;
    expect(t.scenarios[0]!.status, JSON.stringify(t.scenarios[0])).toBe('pass');
    expect(t).toMatchObject({ kind: 'wsl', os: 'linux', access: 'root', host: { os: 'win32' } });
    expect(t.uname).toMatch(/^Linux /);
    expect(buildView(report.targets).targets[0]).toMatchObject({
      column: 'WSL on Windows',
      pidInside: 1,
      chain: [{ layer: 'container', pid: 1 }, { layer: 'vm' }],
    });
    expect(validateReport(report), JSON.stringify(validateReport.errors)).toBe(true);

    // Every call went through wsl.exe with the same prefix and UTF-8 messages; the first asked for uname.
    const seen = calls();
    expect(seen.length).toBeGreaterThanOrEqual(3);
    for (const c of seen) {
      expect(c.utf8).toBe('1');
      expect(c.argv.slice(0, 5)).toEqual(['--distribution', 'Debian', '--user', 'root', '--exec']);
    }
    expect(seen[0]!.argv.slice(5)).toEqual(['uname', '-a']);
    expect(seen.some((c) => c.argv[5] === 'sh' && c.argv[6] === '-s')).toBe(true);
  });
});
