import { describe, expect, it } from 'vitest';
import { newBootSecrets } from '../image/secrets.ts';
import { keyType } from './client.ts';

describe('the host key algorithm asked for', () => {
  it("is the pinned key's own type, read from its wire blob", () => {
    expect(keyType(newBootSecrets().host.publicBlob)).toBe('ssh-ed25519');
    const rsa = Buffer.concat([
      Buffer.from([0, 0, 0, 7]),
      Buffer.from('ssh-rsa'),
      Buffer.from([0, 0, 0, 1, 3]),
    ]);
    expect(keyType(rsa)).toBe('ssh-rsa');
  });
});
