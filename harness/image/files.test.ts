import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesEntries, numericId, sourceDigestInputs } from './files.ts';
import type { LinuxkitConfig } from './linuxkit-config.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-files-'));
  writeFileSync(join(dir, 'motd'), 'hello from a source file\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config: LinuxkitConfig = {
  onboot: [{ name: 'dhcpcd', image: 'linuxkit/dhcpcd:1' }],
  services: [{ name: 'sshd', image: 'linuxkit/sshd:1' }],
  files: [
    { path: 'etc/app/conf', contents: 'x=1\n', mode: '0640', uid: 'sshd', gid: 7 },
    { path: '/var/empty', directory: true },
    { path: 'etc/link', symlink: '/etc/app/conf' },
    { path: 'etc/motd', source: './motd', mode: '0644' },
    { path: 'etc/absent', source: './nope', optional: true },
    { path: 'etc/config.json', metadata: 'json' },
  ],
};

describe("linuxkit.yml's files section, with LinuxKit's semantics", () => {
  it('becomes initramfs entries: parents, modes, owners, symlinks, sources, metadata', async () => {
    const entries = await filesEntries(config, join(dir, 'linuxkit.yml'));
    const by = (p: string) => entries.find((e) => e.path === p);
    // Parents get the execute bits their file's mode implies (0640 -> 0750), and the file's owner.
    expect(by('etc')).toMatchObject({ type: 'dir', mode: 0o750, uid: 101, gid: 7 });
    expect(by('etc/app/conf')).toMatchObject({ type: 'file', mode: 0o640, uid: 101, gid: 7, data: 'x=1\n' });
    expect(by('var/empty')).toMatchObject({ type: 'dir', mode: 0o700 });
    expect(by('etc/link')).toMatchObject({ type: 'symlink', data: '/etc/app/conf' });
    expect(String(by('etc/motd')?.data)).toBe('hello from a source file\n');
    expect(by('etc/absent')).toBeUndefined();
    expect(JSON.parse(String(by('etc/config.json')?.data)).services[0].name).toBe('sshd');
    expect(by('etc/config.json')?.mode).toBe(0o600);
  });

  it('a uid/gid name is the container with that name: 100, 101, ... in onboot, onshutdown, services order', () => {
    expect(numericId('dhcpcd', config)).toBe(100);
    expect(numericId('sshd', config)).toBe(101);
    expect(numericId('root', config)).toBe(0);
    expect(numericId(42, config)).toBe(42);
  });

  it("a source file's bytes are part of the image digest", async () => {
    const before = await sourceDigestInputs(config, join(dir, 'linuxkit.yml'));
    writeFileSync(join(dir, 'motd'), 'changed\n');
    const after = await sourceDigestInputs(config, join(dir, 'linuxkit.yml'));
    expect(after['./motd']).not.toBe(before['./motd']);
    expect(after['./nope']).toBe('absent');
  });
});
