/**
 * How a leftover QEMU is recognised, from its command line as each host OS reports it (how a VM is stopped
 * is the platform's stopPlan). Pure; tested for every host.
 */
import type { QmpAddress } from './qmp.ts';

/** What else a VM's state says about its QEMU: the forwarded SSH port and the QMP address. */
export interface QemuExpect {
  sshPort?: number;
  qmp?: QmpAddress;
}

/** The -netdev and -qmp values that qemuArgv gives these; a state must name what its QEMU really has. */
function expectedValues(expect: QemuExpect): { netdev?: RegExp; qmp?: string } {
  const qmp =
    expect.qmp &&
    ('socket' in expect.qmp ? `unix:${expect.qmp.socket},` : `tcp:127.0.0.1:${expect.qmp.port},`);
  return {
    netdev:
      expect.sshPort === undefined
        ? undefined
        : Number.isInteger(expect.sshPort)
          ? new RegExp(`(^|[,\\s"])hostfwd=tcp:127\\.0\\.0\\.1:${expect.sshPort}-:22($|[,\\s"])`)
          : /(?!)/, // not a port number: matches nothing
    qmp,
  };
}

/**
 * True when a command line is a QEMU that nslab started under `name` (its -name argument): a PID that was
 * reused by another program is never killed. With `expect`, the SSH forward and the QMP address must be
 * that QEMU's own too, so that a state.json cannot send nslab to a port or socket that QEMU did not open.
 * `argv` is exact (Linux); a string is what ps or Windows report.
 */
export function looksLikeOurQemu(
  commandLine: string[] | string,
  name: string,
  expect: QemuExpect = {},
): boolean {
  const want = expectedValues(expect);
  if (Array.isArray(commandLine)) {
    const after = (flag: string) => {
      const i = commandLine.indexOf(flag);
      return i < 0 ? undefined : commandLine[i + 1];
    };
    return (
      /qemu-system/.test(commandLine[0] ?? '') &&
      after('-name') === name &&
      (!want.netdev || want.netdev.test(after('-netdev') ?? '')) &&
      (!want.qmp || (after('-qmp') ?? '').startsWith(want.qmp))
    );
  }
  const words = commandLine.trim().split(/\s+/);
  const unquote = (w: string | undefined) => w?.replace(/^"|"$/g, '');
  return (
    /qemu-system/.test(commandLine) &&
    unquote(words[words.indexOf('-name') + 1]) === name &&
    (!want.netdev || want.netdev.test(unquote(words[words.indexOf('-netdev') + 1]) ?? '')) &&
    // A socket path may hold spaces that ps does not quote: look for the value as a whole.
    (!want.qmp || commandLine.includes(` -qmp ${want.qmp}`) || commandLine.includes(` -qmp "${want.qmp}`))
  );
}
