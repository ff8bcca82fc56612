import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ARCHIVE_KEYS_FILE, loadArchiveKeys } from './keys.ts';

describe('the shipped Debian archive keys', () => {
  it('are the six keys archive-keys.md names, by fingerprint, and nothing else', async () => {
    const doc = readFileSync(ARCHIVE_KEYS_FILE.replace(/\.asc$/, '.md'), 'utf8');
    const named = [...doc.matchAll(/^\| `([0-9A-F]{40})` \|/gm)].map((m) => m[1]).sort();
    expect(named).toHaveLength(6);
    expect((await loadArchiveKeys()).fingerprints.sort()).toEqual(named);
  });

  it('hold no private key material', () => {
    const text = readFileSync(ARCHIVE_KEYS_FILE, 'utf8');
    expect(text).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----$/m);
    expect(text).not.toMatch(/PRIVATE KEY/);
  });
});
