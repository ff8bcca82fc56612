import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ExitCode, UsageError } from '../errors.ts';
import { readReport } from './read.ts';
import { buildView } from './view.ts';

const FIXTURES = new URL('../../test/fixtures/reports/', import.meta.url).pathname;
const fixture = (name: string) => join(FIXTURES, name);
const raw = (name: string) => JSON.parse(readFileSync(fixture(name), 'utf8'));

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-read-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `text` to a file of its own and returns the error readReport throws for it. */
async function failure(name: string, text: string): Promise<Error> {
  const file = join(dir, name);
  writeFileSync(file, text);
  return readReport(file).then(
    () => expect.fail(`readReport(${name}) should have thrown`),
    (error: Error) => error,
  );
}

describe('readReport', () => {
  it('takes a schema 2 report as it is', async () => {
    const current = raw('linux.json');
    current.view = buildView(current.targets);
    const file = join(dir, 'current.json');
    writeFileSync(file, JSON.stringify(current));
    expect(await readReport(file)).toEqual(current);
  });

  it('computes again a schema 2 view from before the target drivers (no `layered`), the rest as it is', async () => {
    const old = raw('linux.json');
    expect(old.view.targets[0].layered).toBeUndefined();
    const read = await readReport(fixture('linux.json'));
    expect(read.view).toEqual(buildView(old.targets));
    expect(read.view.targets.map((t) => t.layered)).toEqual([false, true]);
    expect({ ...read, view: old.view }).toEqual(old);
  });

  it('upgrades a schema 1 report: version 2, and the view computed from its targets', async () => {
    const v1 = raw('linux-v1.json');
    expect(v1.schemaVersion).toBe(1);
    expect(v1.view).toBeUndefined();
    const upgraded = await readReport(fixture('linux-v1.json'));
    expect(upgraded.schemaVersion).toBe(2);
    expect(upgraded.view).toEqual(buildView(v1.targets));
    expect(upgraded.view.targets.map((t) => t.key)).toEqual(['linux/native', 'linux/vm']);
    // The verdicts are the recorded run's, as a version 2 run computed them (v1 only lacks the timeline's starts).
    const recorded = raw('linux.json').view;
    expect(upgraded.view.scenarios).toEqual(recorded.scenarios);
    expect(upgraded.view.targets[1]).toMatchObject({ pidInside: 1, qemuPid: recorded.targets[1].qemuPid });
    const { schemaVersion: _a, view: _b, ...rest } = upgraded;
    const { schemaVersion: _c, ...v1rest } = v1;
    expect(rest).toEqual(v1rest);
  });

  it('a schema 3 report is a ConfigError (exit 2) naming the file, the version and what is read', async () => {
    const error = await failure(
      'v3.json',
      JSON.stringify({ ...raw('linux.json'), schemaVersion: 3 }, null, 2),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).exitCode).toBe(ExitCode.usage);
    expect(error.message).toContain(
      `report ${join(dir, 'v3.json')} has schema version 3; this nslab reads versions 1 and 2`,
    );
    // It points at the value of schemaVersion (`  "schemaVersion": 3` on line 2) and says what to do.
    expect(error.message).toContain('v3.json:2:20: schemaVersion: ');
    expect((error as ConfigError).hint).toMatch(/newer nslab/);
  });

  it('a report without schemaVersion is refused the same way', async () => {
    const { schemaVersion: _v, ...rest } = raw('linux.json');
    const error = await failure('none.json', JSON.stringify(rest));
    expect(error.message).toContain('has schema version null; this nslab reads versions 1 and 2');
  });

  it('a file that is not JSON names the file, line and column', async () => {
    const error = await failure('cut.json', '{\n  "schemaVersion": 2,\n  "targets": [\n');
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/cut\.json:4:1: report .*cut\.json is not JSON/);
  });

  it('an HTML file given by mistake is not JSON', async () => {
    const error = await failure('report.html', '<!doctype html>');
    expect(error.message).toContain(`report ${join(dir, 'report.html')} is not JSON`);
  });

  it('JSON without a targets array names the file', async () => {
    const error = await failure('no-targets.json', JSON.stringify({ schemaVersion: 2, targets: {} }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(`report ${join(dir, 'no-targets.json')} has no targets array`);
    const array = await failure('array.json', '[1, 2]');
    expect(array.message).toContain('is not an nslab report');
  });

  it('a missing file is a UsageError (exit 2) naming it', async () => {
    const file = join(dir, 'absent.json');
    const error = await readReport(file).catch((e: Error) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(ExitCode.usage);
    expect((error as Error).message).toBe(`cannot read report ${file}: no such file`);
  });
});
