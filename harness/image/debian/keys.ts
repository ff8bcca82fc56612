import { readFile } from 'node:fs/promises';
import { projectFile } from '../../project-root.ts';
import { VerificationError } from './verification-error.ts';

/** Debian's archive signing keys for bookworm, shipped with nslab (see archive-keys.md for their origin). */
export const ARCHIVE_KEYS_FILE = projectFile('harness', 'image', 'debian', 'archive-keys.asc');

/** A keyring of OpenPGP public keys that can check a cleartext-signed file. */
export interface ArchiveKeys {
  fingerprints: string[];
  /** The signed text, and which keys' signatures over it verified; throws when none did. */
  verifyCleartext(text: string, file: string): Promise<{ signed: string; signedBy: string[] }>;
}

/** Reads an armored keyring (by default the shipped one). openpgp is loaded only here, on a cold build. */
export async function loadArchiveKeys(file = ARCHIVE_KEYS_FILE): Promise<ArchiveKeys> {
  const openpgp = await import('openpgp');
  const keys = await openpgp.readKeys({ armoredKeys: await readFile(file, 'utf8') });
  const fingerprints = keys.map((k) => k.getFingerprint().toUpperCase());
  return {
    fingerprints,
    async verifyCleartext(text, url) {
      let message;
      try {
        message = await openpgp.readCleartextMessage({ cleartextMessage: text });
      } catch (error) {
        throw new VerificationError(
          url,
          'an OpenPGP cleartext-signed file',
          `one that does not parse (${(error as Error).message})`,
        );
      }
      const result = await openpgp.verify({ message, verificationKeys: keys });
      const signedBy: string[] = [];
      const refused: string[] = [];
      for (const s of result.signatures) {
        const keyId = s.keyID.toHex().toUpperCase();
        try {
          await s.verified;
          const key = keys.find((k) => k.getKeys(s.keyID).length > 0);
          signedBy.push(key ? key.getFingerprint().toUpperCase() : keyId);
        } catch (error) {
          refused.push(`${keyId}: ${(error as Error).message}`);
        }
      }
      if (signedBy.length === 0) {
        throw new VerificationError(
          url,
          `a signature by one of Debian's archive keys (${file})`,
          refused.length > 0 ? `none that verifies (${refused.join('; ')})` : 'no signature',
        );
      }
      return { signed: String(result.data), signedBy };
    },
  };
}
