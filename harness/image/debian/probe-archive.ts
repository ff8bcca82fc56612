import { describeNetworkError } from './download.ts';
import { mirrorsFromEnv } from './sources.ts';

/** Whether Debian's archive answers, as `nslab doctor` reports it. */
export interface ArchiveProbe {
  url: string;
  answers: boolean;
  /** The HTTP status, or why no answer came. */
  detail: string;
  ms: number;
}

/** One HEAD request for the release file a cold build fetches first (bounded: doctor must not hang). */
export async function probeDebianArchive(
  env: Record<string, string | undefined> = process.env,
  timeoutMs = 5000,
): Promise<ArchiveProbe> {
  const url = `${mirrorsFromEnv(env).debian}/dists/bookworm/InRelease`;
  const t0 = performance.now();
  try {
    const r = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(timeoutMs) });
    return { url, answers: r.ok, detail: `HTTP ${r.status}`, ms: Math.round(performance.now() - t0) };
  } catch (error) {
    return {
      url,
      answers: false,
      detail: describeNetworkError(error),
      ms: Math.round(performance.now() - t0),
    };
  }
}
