import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { loadScenarioDir, loadScenarioFile, parseScenarioText } from './load.ts';
import { DEFAULT_SCENARIOS_DIR } from '../cli/paths.ts';

const GOOD = `name: demo
title: Demo
question: Does it work?
isolate:
  namespaces: [pid, uts]
observe:
  inside: [pid, uname, { name: host, run: [hostname, -s] }]
  outside: [pid, nspid]
expect:
  - that: inside.pid
    equals: 1
  - that: outside.nspid[-1]
    sameAs: inside.pid
    on: [native]
`;

/** GOOD with a time namespace instead of uts, and `time:` set to the given YAML (on line 6). */
function withTime(time: string, namespaces = '[pid, time]'): string {
  return GOOD.replace('  namespaces: [pid, uts]\n', `  namespaces: ${namespaces}\n  time: ${time}\n`);
}

/** GOOD with `fork:` set to the given YAML (on line 6), and the namespaces given. */
function withFork(fork: string, namespaces = '[pid, uts]'): string {
  return GOOD.replace('  namespaces: [pid, uts]\n', `  namespaces: ${namespaces}\n  fork: ${fork}\n`);
}

function errorOf(text: string, file = 'demo.yaml'): ConfigError {
  try {
    parseScenarioText(file, text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('scenario loader', () => {
  it('reads a valid scenario into its typed form', () => {
    const s = parseScenarioText('demo.yaml', GOOD);
    expect(s.isolate.namespaces).toEqual(['pid', 'uts']);
    expect(s.observe.inside.builtins).toEqual(['pid', 'uname']);
    expect(s.observe.inside.commands).toEqual([{ name: 'host', run: ['hostname', '-s'] }]);
    expect(s.expect[1]).toMatchObject({
      that: 'outside.nspid[-1]',
      op: 'sameAs',
      value: 'inside.pid',
      targets: ['native'],
    });
  });

  it('reads the time namespace clock offsets, and none when absent', () => {
    const s = parseScenarioText('demo.yaml', withTime('{ boottime: 86400, monotonic: -3 }'));
    expect(s.isolate).toEqual({ namespaces: ['pid', 'time'], time: { boottime: 86400, monotonic: -3 } });
    expect(parseScenarioText('demo.yaml', GOOD).isolate).toEqual({ namespaces: ['pid', 'uts'] });
  });

  it('reads isolate.fork when given, and none when absent', () => {
    const noUname = withFork('false').replace('[pid, uname, {', '[pid, hostname, {');
    expect(parseScenarioText('demo.yaml', noUname).isolate).toEqual({
      namespaces: ['pid', 'uts'],
      fork: false,
    });
    expect(parseScenarioText('demo.yaml', withFork('true')).isolate).toEqual({
      namespaces: ['pid', 'uts'],
      fork: true,
    });
    expect(parseScenarioText('demo.yaml', GOOD).isolate).not.toHaveProperty('fork');
  });

  it('reads runtimes: for the scenario (default unshare), a command and an expectation', () => {
    expect(parseScenarioText('demo.yaml', GOOD).runtimes).toEqual(['unshare']);
    const s = parseScenarioText(
      'demo.yaml',
      GOOD.replace('observe:', 'runtimes: [unshare, docker]\nobserve:')
        .replace('{ name: host, run: [hostname, -s] }', '{ name: host, runtimes: [docker], run: [hostname] }')
        .replace('    on: [native]\n', '    on: [native]\n    runtimes: [runc]\n'),
    );
    expect(s.runtimes).toEqual(['unshare', 'docker']);
    expect(s.observe.inside.commands[0]).toEqual({ name: 'host', run: ['hostname'], runtimes: ['docker'] });
    expect(s.expect[1]?.runtimes).toEqual(['runc']);
    expect(s.expect[0]?.runtimes).toBeUndefined();
  });

  it('loads the shipped scenarios, pid-ns among them', async () => {
    const all = await loadScenarioDir(DEFAULT_SCENARIOS_DIR);
    const pidNs = all.find((s) => s.name === 'pid-ns');
    expect(pidNs?.isolate.namespaces).toEqual(['pid']);
    expect(pidNs?.expect.length).toBeGreaterThanOrEqual(5);
  });

  it.each([
    [
      'an unknown runtime',
      GOOD.replace('observe:', 'runtimes: [unshare, podman]\nobserve:'),
      6,
      21,
      'runtimes[1]',
      /expected one of unshare, runc, docker, found the string "podman"/,
    ],
    [
      'an empty runtimes list',
      GOOD.replace('observe:', 'runtimes: []\nobserve:'),
      6,
      11,
      'runtimes',
      /expected at least one of unshare, runc, docker/,
    ],
    [
      'a command named runtime, which the probe keeps for the runtime',
      GOOD.replace('{ name: host, run: [hostname, -s] }', '{ name: runtime, run: [hostname] }'),
      7,
      32,
      'observe.inside[2].name',
      /not a built-in or "runtime"/,
    ],
    [
      'an optional namespace that is not isolated',
      GOOD.replace('  namespaces: [pid, uts]\n', '  namespaces: [pid, uts]\n  optional: [time]\n'),
      6,
      14,
      'isolate.optional[0]',
      /"time" is not in isolate.namespaces/,
    ],
    [
      'an unknown top-level key',
      GOOD.replace('title: Demo', 'titel: Demo'),
      2,
      1,
      'titel',
      /unknown key "titel"/,
    ],
    [
      'an unknown namespace',
      GOOD.replace('[pid, uts]', '[pid, utz]'),
      5,
      21,
      'isolate.namespaces[1]',
      /expected one of pid, mnt.*found the string "utz"/,
    ],
    [
      'an unknown builtin',
      GOOD.replace('inside: [pid,', 'inside: [pidd,'),
      7,
      12,
      'observe.inside[0]',
      /built-in observation/,
    ],
    [
      'a command that is not a list',
      GOOD.replace('run: [hostname, -s]', 'run: hostname -s'),
      7,
      43,
      'observe.inside[2].run',
      /expected a list, found the string/,
    ],
    [
      'two operators',
      GOOD.replace('    equals: 1\n', '    equals: 1\n    notEquals: 2\n'),
      10,
      5,
      'expect[0]',
      /exactly one of .* found equals and notEquals/,
    ],
    [
      'a bad path',
      GOOD.replace('that: inside.pid', 'that: inside..pid'),
      10,
      11,
      'expect[0].that',
      /expected a path/,
    ],
    [
      'a list where a literal belongs',
      GOOD.replace('equals: 1', 'equals: [1]'),
      11,
      13,
      'expect[0].equals',
      /found a list/,
    ],
    [
      'a bad regular expression',
      GOOD.replace('equals: 1', 'matches: "("'),
      11,
      14,
      'expect[0].matches',
      /not a valid regular expression/,
    ],
    [
      'a missing key',
      GOOD.replace('question: Does it work?\n', ''),
      1,
      1,
      'question',
      /missing required key "question"/,
    ],
    [
      'a name that is not the file name',
      GOOD.replace('name: demo', 'name: other'),
      1,
      7,
      'name',
      /must match the file name "demo"/,
    ],
    [
      'time offsets without the time namespace',
      withTime('{ boottime: 86400 }', '[pid, uts]'),
      6,
      3,
      'isolate.time',
      /clock offsets need a time namespace/,
    ],
    [
      'a time offset that is not a whole number',
      withTime('{ boottime: 1.5 }'),
      6,
      21,
      'isolate.time.boottime',
      /expected a whole number of seconds .* found the number 1\.5/,
    ],
    [
      'a time offset beyond the kernel limit',
      withTime('{ monotonic: -4611686019 }'),
      6,
      22,
      'isolate.time.monotonic',
      /from -4611686018 to 4611686018 .* found the number -4611686019/,
    ],
    [
      'a time offset given as a string',
      withTime('{ boottime: "86400" }'),
      6,
      21,
      'isolate.time.boottime',
      /found the string "86400"/,
    ],
    [
      'a clock a time namespace cannot shift',
      withTime('{ realtime: 5 }'),
      6,
      11,
      'isolate.time.realtime',
      /unknown key "realtime"; expected one of boottime, monotonic/,
    ],
    [
      'empty time offsets',
      withTime('{}'),
      6,
      9,
      'isolate.time',
      /expected at least one of boottime, monotonic/,
    ],
    [
      'fork without the pid namespace',
      withFork('false', '[uts]'),
      6,
      3,
      'isolate.fork',
      /fork is how the pid namespace is made, and isolate.namespaces has no pid/,
    ],
    [
      'fork with the time namespace, which needs the fork',
      withFork('true', '[pid, time]'),
      6,
      3,
      'isolate.fork',
      /a time namespace always forks .* so fork cannot be set with time/,
    ],
    [
      'fork that is not true or false',
      withFork('no'),
      6,
      9,
      'isolate.fork',
      /expected true or false, found the string "no"/,
    ],
    [
      'an inside built-in that starts a process, without fork',
      withFork('false'),
      8,
      17,
      'observe.inside[1]',
      /"uname" starts a process, and with isolate.fork false the inside starts none but its commands/,
    ],
    [
      'a YAML syntax error',
      GOOD.replace('  namespaces: [pid, uts]', '  namespaces: [pid, uts'),
      6,
      1,
      '',
      /YAML error/,
    ],
    [
      'a duplicate key',
      GOOD.replace('title: Demo', 'title: Demo\ntitle: Again'),
      3,
      1,
      '',
      /YAML error: Map keys must be unique/,
    ],
  ])('rejects %s with file, line and column', (_what, text, line, column, keyPath, message) => {
    const error = errorOf(text);
    expect(error.position).toEqual({ file: 'demo.yaml', line, column });
    expect(error.keyPath).toBe(keyPath);
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(`demo.yaml:${line}:${column}: `)).toBe(true);
    expect(error.exitCode).toBe(2);
  });

  it('names the file when it does not exist', async () => {
    await expect(loadScenarioFile(join(DEFAULT_SCENARIOS_DIR, 'missing.yaml'))).rejects.toThrow(
      /missing\.yaml: no such file/,
    );
  });
});
