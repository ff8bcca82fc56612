import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_SCENARIOS_DIR } from '../harness/cli/paths.ts';
import { loadScenarioFile } from '../harness/scenario/load.ts';
import { NativeTarget } from '../harness/targets/index.ts';
import { skipNote } from './helpers/tools.ts';

// The shipped catalogue as a whole: every file is a valid scenario, and every scenario passes natively here.
// (test/cli-vm.test.ts runs every shipped scenario inside the VM.)
const BIN = new URL('../bin/nslab.mjs', import.meta.url).pathname;
const files = readdirSync(DEFAULT_SCENARIOS_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const dir = mkdtempSync(join(tmpdir(), 'nslab-catalogue-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('each shipped scenario file', () => {
  it.each(files)('%s validates, and every expectation says why', async (file) => {
    const s = await loadScenarioFile(join(DEFAULT_SCENARIOS_DIR, file));
    expect(s.name).toBe(basename(file, '.yaml'));
    expect(s.expect.length).toBeGreaterThan(0);
    for (const e of s.expect) expect(e.why, `${file}: ${e.that}`).toMatch(/\w/);
  });
});

const native = await new NativeTarget().prepare();
const asRoot = native.info.access === 'root';
describe.runIf(asRoot)(
  `the whole catalogue natively${skipNote(asRoot, `native access here is ${native.info.access ?? native.skip?.reason}, not root`)}`,
  () => {
    it('nslab scenario all --target native: every scenario passes, with its observations', async () => {
      const r = await execa(
        'node',
        [BIN, 'scenario', 'all', '--target', 'native', '--json', '--report-dir', dir],
        {
          reject: false,
        },
      );
      const report = JSON.parse(String(r.stdout));
      const results = report.targets[0].scenarios as {
        name: string;
        status: string;
        observations?: unknown;
      }[];
      expect(results.map((s) => `${s.name}:${s.status}`)).toEqual(
        files.map((f) => `${basename(f, '.yaml')}:pass`),
      );
      for (const s of results) expect(s.observations, s.name).toBeDefined();
      expect(r.exitCode).toBe(0);
    });
  },
);
