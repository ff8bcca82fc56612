import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpioArchive } from './cpio.ts';
import { readElfDeps } from './elf.ts';
import {
  dropbearEd25519,
  newEd25519Key,
  opensshPrivateKey,
  secretsOverlay,
  newBootSecrets,
} from './secrets.ts';
import { chooseBuilder } from './build.ts';
import { imageRepository, mapLinuxkitImages } from './debian-map.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-parts-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cpio (newc) writer', () => {
  it('is read back by GNU cpio with types, modes and owners intact', async () => {
    const archive = cpioArchive([
      { path: 'etc', type: 'dir', mode: 0o755 },
      { path: 'etc/secret', type: 'file', mode: 0o600, uid: 100, gid: 101, data: 'odd length!' },
      { path: 'etc/link', type: 'symlink', mode: 0o777, data: 'secret' },
      { path: 'bin', type: 'dir', mode: 0o700 },
    ]);
    const out = join(dir, 'cpio-out');
    await execa('mkdir', ['-p', out]);
    await execa('cpio', ['-id', '--no-absolute-filenames'], { input: archive, cwd: out });
    expect(readFileSync(join(out, 'etc/secret'), 'utf8')).toBe('odd length!');
    expect(statSync(join(out, 'etc/secret')).mode & 0o777).toBe(0o600);
    expect(readlinkSync(join(out, 'etc/link'))).toBe('secret');
    const listing = (await execa('cpio', ['-itv', '--numeric-uid-gid'], { input: archive })).stdout;
    expect(listing).toMatch(/-rw-------\s+1 100\s+101\s+11 .* etc\/secret/);
  });
});

describe('ELF reader', () => {
  it('lists what a real dynamic binary needs, and its loader, without running it', () => {
    const deps = readElfDeps(readFileSync('/usr/bin/nsenter'));
    expect(deps?.machine).toBe(process.arch === 'x64' ? 62 : 183);
    expect(deps?.needed).toContain('libc.so.6');
    expect(deps?.interpreter).toMatch(/ld-linux/);
  });
  it('says nothing for a file that is not ELF', () => {
    expect(readElfDeps(Buffer.from('#!/bin/sh\necho hi\n'))).toBeUndefined();
  });
});

describe('per-boot keys', () => {
  it('dropbear reads our dropbear-format host key and derives the same public key', async () => {
    const key = newEd25519Key('t');
    writeFileSync(join(dir, 'db_key'), dropbearEd25519(key), { mode: 0o600 });
    const r = await execa('dropbearkey', ['-y', '-f', join(dir, 'db_key')]);
    expect(r.stdout).toContain(key.publicLine.split(' ').slice(0, 2).join(' '));
    expect(r.stdout).toContain(key.fingerprint);
  });

  it('OpenSSH reads our OpenSSH-format private key', async () => {
    const key = newEd25519Key('t');
    writeFileSync(join(dir, 'os_key'), opensshPrivateKey(key), { mode: 0o600 });
    const r = await execa('ssh-keygen', ['-y', '-f', join(dir, 'os_key')]);
    expect(r.stdout.split(' ').slice(0, 2)).toEqual(key.publicLine.split(' ').slice(0, 2));
  });

  it('each boot gets different keys, and the overlay carries the client key and the host key', async () => {
    const a = newBootSecrets();
    const b = newBootSecrets();
    expect(a.host.fingerprint).not.toBe(b.host.fingerprint);
    const listing = (await execa('sh', ['-c', 'gzip -dc | cpio -itv'], { input: secretsOverlay(a) })).stdout;
    expect(listing).toMatch(/-rw-------.*root\/\.ssh\/authorized_keys/);
    expect(listing).toMatch(/-rw-------.*etc\/dropbear\/dropbear_ed25519_host_key/);
  });
});

describe('builder choice', () => {
  it('auto is the debian builder on every host (it needs only Node and the archive); linuxkit only when asked', () => {
    expect(chooseBuilder('auto')).toBe('debian');
    expect(chooseBuilder('debian')).toBe('debian');
    expect(chooseBuilder('linuxkit')).toBe('linuxkit');
  });
});

describe('linuxkit images → local equivalents', () => {
  it('reads repositories out of references', () => {
    expect(imageRepository('linuxkit/sshd:08e5d4a4')).toBe('linuxkit/sshd');
    expect(imageRepository('docker.io/linuxkit/init:abc@sha256:00')).toBe('linuxkit/init');
    expect(imageRepository('localhost:5000/x/y:1')).toBe('localhost:5000/x/y');
  });
  it('maps what it knows and names each entry it cannot map', () => {
    const m = mapLinuxkitImages({
      init: ['linuxkit/init:1'],
      onboot: [{ name: 'dhcp', image: 'linuxkit/dhcpcd:2' }],
      services: [
        { name: 'sshd', image: 'linuxkit/sshd:3' },
        { name: 'db', image: 'redis:7' },
      ],
    });
    expect(m.entries.map((e) => [e.entry, e.boot])).toEqual([
      ['init[0]', null],
      ['onboot[0]', 'onboot dhcpcd'],
      ['services[0]', 'service sshd'],
    ]);
    expect(m.unmapped).toEqual([{ entry: 'services[1]', image: 'redis:7' }]);
  });
});
