/** How a VM is stopped and how a leftover QEMU is recognised, per host OS. Pure; tested for every host. */

export type StopStep =
  | { do: 'qmp'; command: 'quit' | 'system_powerdown'; waitMs: number }
  | { do: 'signal'; signal: 'SIGTERM' | 'SIGKILL'; waitMs: number };

/**
 * QMP first (QEMU exits at once, or the guest powers off), then signals, each with a bound. Windows has no
 * SIGTERM of its own (Node maps it to TerminateProcess, the same as SIGKILL), so it gets one step less.
 */
export function stopPlan(platform: NodeJS.Platform, clean: boolean): StopStep[] {
  const plan: StopStep[] = [
    { do: 'qmp', command: clean ? 'system_powerdown' : 'quit', waitMs: clean ? 15_000 : 2000 },
  ];
  if (platform !== 'win32') plan.push({ do: 'signal', signal: 'SIGTERM', waitMs: 2000 });
  plan.push({ do: 'signal', signal: 'SIGKILL', waitMs: 2000 });
  return plan;
}

/** Where to read a process's command line: /proc on Linux, ps on macOS, CIM on Windows. */
export function commandLineSource(
  platform: NodeJS.Platform,
  pid: number,
): { file: string } | { argv: string[] } {
  if (platform === 'linux') return { file: `/proc/${pid}/cmdline` };
  if (platform === 'win32') {
    return {
      argv: [
        'powershell.exe',
        '-NoProfile',
        '-NonInteractive',
        '-Command',
        `(Get-CimInstance Win32_Process -Filter "ProcessId=${pid}").CommandLine`,
      ],
    };
  }
  return { argv: ['ps', '-p', String(pid), '-o', 'command='] };
}

/**
 * True when a command line is a QEMU that nslab started under `name` (its -name argument): a PID that was
 * reused by another program is never killed. `argv` is exact (Linux); a string is what ps or Windows report.
 */
export function looksLikeOurQemu(commandLine: string[] | string, name: string): boolean {
  if (Array.isArray(commandLine)) {
    return /qemu-system/.test(commandLine[0] ?? '') && commandLine[commandLine.indexOf('-name') + 1] === name;
  }
  const words = commandLine.trim().split(/\s+/);
  return /qemu-system/.test(commandLine) && words[words.indexOf('-name') + 1]?.replace(/^"|"$/g, '') === name;
}
