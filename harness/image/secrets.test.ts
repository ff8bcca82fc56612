import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { findOnPath } from '../util/find-on-path.ts';
import { dropbearEd25519, newBootSecrets, printfOctal, secretsMessage } from './secrets.ts';

const busybox = findOnPath('busybox');

describe('the secrets message', () => {
  it('says, line by line, the time, fresh entropy and both keys; then end', () => {
    const s = newBootSecrets();
    const seed = randomBytes(64);
    const lines = secretsMessage(s, 1_700_000_000_500, seed).split('\n');
    expect(lines[0]).toBe('nslab-secrets 1');
    expect(lines).toContain('time 1700000000');
    expect(lines).toContain(`seed ${seed.toString('hex')}`);
    expect(lines).toContain(`authorized_key ${s.client.publicLine}`);
    expect(lines.at(-2)).toBe('end');
    // Never the client's private half, never the host key's seed in the clear.
    expect(secretsMessage(s, 0, seed)).not.toContain(s.client.seed.toString('hex'));
  });

  it.runIf(busybox)(
    "the host key arrives byte for byte through the guest shell's read -r and printf %b",
    async () => {
      const key = Buffer.concat([dropbearEd25519(newBootSecrets().host), Buffer.from([0, 10, 92, 255])]);
      const line = `host_key ${printfOctal(key)}\n`;
      const r = await execa(busybox!, ['sh', '-c', 'read -r k v; printf "%b" "$v"'], {
        input: line,
        encoding: 'buffer',
      });
      expect(Buffer.from(r.stdout).equals(key)).toBe(true);
    },
  );
});
