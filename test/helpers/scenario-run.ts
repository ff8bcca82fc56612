import type { TestContext } from 'vitest';
import { parseScenarioText } from '../../harness/scenario/load.ts';
import { runScenario } from '../../harness/scenario/run.ts';
import { NativeTarget } from '../../harness/targets/index.ts';

/** Words that run the rest as nobody (uid and gid 65534, no groups): the native target then goes rootless. */
export const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];

/**
 * Runs a scenario's text (the shipped file as it is, or a changed copy) on the native target, or skips the
 * test with the target's own reason. `needsRootAccess` skips where the target is rootless (it then adds a
 * user namespace to every isolated process).
 */
export async function runScenarioText(
  ctx: TestContext,
  file: string,
  text: string,
  options: { prefix?: string[]; needsRootAccess?: boolean } = {},
) {
  const target = new NativeTarget({ prefix: options.prefix });
  const { skip, info } = await target.prepare();
  if (skip) ctx.skip(`native target: ${skip.reason}`);
  if (options.needsRootAccess && info.access === 'userns')
    ctx.skip('the native target is rootless here: every isolated process gets a user namespace');
  return runScenario(parseScenarioText(file, text), target, { info });
}
