import { forTerminal } from '../util/capped-output.ts';
import type { RunEvent } from '../run/run.ts';

/**
 * Progress on stderr, so that stdout stays clean for --json. On a terminal each step is one line as it
 * starts and ends; in CI (no TTY) the same lines, plainly.
 */
export function progressPrinter(out: NodeJS.WriteStream = process.stderr): (event: RunEvent) => void {
  const started = new Map<string, number>();
  // Details may quote a guest (its uname, a console tail, runtime versions): never raw to the terminal.
  const stream = { write: (text: string) => out.write(forTerminal(text)) };
  return (event) => {
    switch (event.type) {
      case 'target-start':
        started.set(event.kind, performance.now());
        stream.write(`nslab: preparing the ${event.kind} target…\n`);
        break;
      case 'target-ready': {
        const r = event.report;
        const ms = Math.round(performance.now() - (started.get(r.kind) ?? performance.now()));
        if (r.status === 'skip' || r.status === 'error')
          stream.write(
            `nslab: ${r.kind}: ${r.status.toUpperCase()} ${r.reason}: ${r.detail}${r.hint ? ` (${r.hint})` : ''}\n`,
          );
        else
          stream.write(
            `nslab: ${r.kind} ready in ${ms} ms${r.access ? ` (access: ${r.access})` : ''}${r.runtime ? `, runtime ${r.runtime.name} (${r.runtime.version})` : ''}\n`,
          );
        break;
      }
      case 'scenario-start':
        stream.write(`nslab: ${event.target}: running ${event.scenario}…\n`);
        break;
      case 'scenario-done':
        stream.write(
          `nslab: ${event.target}: ${event.result.name} ${event.result.status.toUpperCase()} in ${event.result.durationMs} ms\n`,
        );
        break;
    }
  };
}
