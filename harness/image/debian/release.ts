import { parseStanzas } from './control.ts';
import type { ArchiveKeys } from './keys.ts';
import { VerificationError } from './verification-error.ts';

/** What a verified InRelease says about its suite. */
export interface Release {
  url: string;
  suite: string;
  codename: string;
  date: Date;
  validUntil?: Date;
  /** Index files by path under `dists/<suite>/`, with the SHA256 and size they must have. */
  files: Map<string, { sha256: string; size: number }>;
  /** The mirror serves each index also under `by-hash/SHA256/<hash>`, which a mirror update cannot race. */
  acquireByHash: boolean;
  /** Fingerprints of the archive keys whose signatures verified. */
  signedBy: string[];
}

/**
 * Checks an InRelease file's OpenPGP signatures against Debian's archive keys (at least one must verify,
 * and no text outside the signed part is read), then parses what it signs. `suite` is the codename asked
 * for, so that a mirror cannot answer with another release's signed file; an InRelease past its
 * Valid-Until is refused, as apt refuses it, so that an old signed index cannot be replayed.
 */
export async function verifyInRelease(
  text: string,
  keys: ArchiveKeys,
  expect: { url: string; suite: string; now: Date },
): Promise<Release> {
  const { signed, signedBy } = await keys.verifyCleartext(text, expect.url);
  const [fields] = parseStanzas(signed);
  if (!fields) throw new VerificationError(expect.url, 'Release fields', 'none in the signed text');
  const codename = fields.Codename ?? '';
  if (codename !== expect.suite && fields.Suite !== expect.suite) {
    throw new VerificationError(
      expect.url,
      `the release ${expect.suite}`,
      `${codename || fields.Suite || 'no codename'}`,
    );
  }
  const now = expect.now.getTime();
  const date = new Date(fields.Date ?? '');
  if (Number.isNaN(date.getTime()))
    throw new VerificationError(expect.url, 'a Date field', fields.Date ? `"${fields.Date}"` : 'none');
  // A day of slack for clocks that are off; a release from further ahead is not one to trust.
  if (date.getTime() > now + 86_400_000)
    throw new VerificationError(
      expect.url,
      `a release dated before ${expect.now.toISOString()}`,
      `one dated ${date.toISOString()}`,
    );
  const validUntil = fields['Valid-Until'] ? new Date(fields['Valid-Until']) : undefined;
  if (validUntil && Number.isNaN(validUntil.getTime()))
    throw new VerificationError(expect.url, 'a Valid-Until date', `"${fields['Valid-Until']}"`);
  if (validUntil && validUntil.getTime() < now) {
    throw new VerificationError(
      expect.url,
      `a file valid at ${expect.now.toISOString()}`,
      `one valid until ${validUntil.toISOString()} (the mirror is stale, or replays an old file)`,
    );
  }
  const files = new Map<string, { sha256: string; size: number }>();
  for (const line of (fields.SHA256 ?? '').split('\n')) {
    const m = /^\s*([0-9a-f]{64})\s+(\d+)\s+(\S+)\s*$/.exec(line);
    if (m) files.set(m[3]!, { sha256: m[1]!, size: Number(m[2]) });
  }
  return {
    url: expect.url,
    suite: fields.Suite ?? '',
    codename,
    date,
    ...(validUntil ? { validUntil } : {}),
    files,
    acquireByHash: fields['Acquire-By-Hash'] === 'yes',
    signedBy,
  };
}
