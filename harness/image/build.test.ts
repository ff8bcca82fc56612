import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from './build.ts';
import { linuxkitBuildArgv } from './linuxkit-builder.ts';
import { DEFAULT_IMAGE_CACHE, DEFAULT_LINUXKIT_YML } from '../cli/paths.ts';

// Real builds from Debian packages, fetched from Debian's archive by nslab itself. The package cache is the
// project's (vm-images/debian), so after the first run these work offline; the image cache is a fresh
// folder per test run.
const DEB_ROOT = join(DEFAULT_IMAGE_CACHE, 'debian');
let dir: string;
let config: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nslab-build-'));
  config = join(dir, 'linuxkit.yml');
  copyFileSync(DEFAULT_LINUXKIT_YML, config);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const build = (arch: 'x86_64' | 'aarch64', cacheRoot = join(dir, 'cache'), file = config) =>
  buildImage({ config: file, arch, builder: 'debian', cacheRoot, debRoot: DEB_ROOT });

async function initrdListing(path: string): Promise<string> {
  return (await execa('cpio', ['-itv'], { inputFile: path })).stdout;
}

describe('the debian builder (packages fetched and verified by nslab: no apt-get, no dpkg-deb)', () => {
  it('builds an x86_64 kernel + initrd + cmdline, and the same inputs again are a cache hit', async () => {
    const first = await build('x86_64');
    expect(existsSync(first.kernel) && existsSync(first.initrd)).toBe(true);
    expect(first.manifest).toMatchObject({
      builder: 'debian',
      arch: 'x86_64',
      cmdline: expect.stringContaining('console=ttyS0'),
    });
    expect(first.manifest.kernelVersion).toMatch(/cloud-amd64$/);
    expect(first.manifest.packages['dropbear-bin']).toBeTruthy();
    // Uncompressed (faster to unpack under TCG); runc, for --runtime runc, is 8.5 MiB of it.
    expect(first.manifest.files.initrd.size).toBeLessThan(20 * 1024 * 1024);
    expect(first.manifest.packages.runc).toBeTruthy();
    // x86_64 also gets the decompressed kernel, an ELF that QEMU boots through its PVH entry.
    expect(readFileSync(join(first.dir, 'nslab-vmlinux')).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(first.bootKernel).toBe(join(first.dir, 'nslab-vmlinux'));
    // busybox's applets are links made at build time.
    expect(await initrdListing(first.initrd)).toMatch(/ bin\/ls -> busybox$/m);
    // Each linuxkit.yml entry is recorded with what stands in for it.
    expect(first.manifest.mapping?.find((m) => m.entry === 'services[0]')).toMatchObject({
      boot: 'service sshd',
    });
    const listing = await initrdListing(first.initrd);
    for (const f of [
      'init',
      'bin/busybox',
      'bin/dash',
      'usr/sbin/dropbear',
      'usr/bin/unshare',
      'usr/bin/nsenter',
      'usr/sbin/ip',
      'usr/bin/ipcs',
      'usr/bin/ipcmk',
      'usr/bin/ipcrm',
      'lib64/ld-linux-x86-64.so.2',
    ]) {
      expect(listing).toMatch(new RegExp(` ${f.replace(/\./g, '\\.')}$`, 'm'));
    }
    // linuxkit.yml's files entries, with their modes.
    expect(listing).toMatch(/-rw-r--r-- .* etc\/hostname$/m);
    // No key of any kind in the cached image.
    expect(listing).not.toMatch(/authorized_keys|host_key/);
    const second = await build('x86_64');
    expect(second.cacheHit).toBe(true);
    expect(second.dir).toBe(first.dir);
    expect(first.cacheHit).toBe(false);
  });

  it('a changed files entry is a cache miss with a new digest', async () => {
    const before = await build('x86_64');
    const changed = join(dir, 'changed.yml');
    writeFileSync(changed, readFileSync(config, 'utf8').replace('nslab-vm', 'nslab-vm2'));
    const after = await build('x86_64', join(dir, 'cache'), changed);
    expect(after.cacheHit).toBe(false);
    expect(after.manifest.digest).not.toBe(before.manifest.digest);
  });

  it('a damaged cache entry is detected and rebuilt', async () => {
    const good = await build('x86_64');
    truncateSync(good.initrd, 100);
    const again = await build('x86_64');
    expect(again.cacheHit).toBe(false);
    expect(again.manifest.files.initrd.size).toBe(good.manifest.files.initrd.size);
  });

  it('builds an aarch64 image on this host without running any aarch64 binary', async () => {
    const img = await build('aarch64');
    expect(img.manifest.arch).toBe('aarch64');
    expect(img.manifest.kernelVersion).toMatch(/cloud-arm64$/);
    expect(await initrdListing(img.initrd)).toMatch(/ lib\/ld-linux-aarch64\.so\.1$/m);
  });

  it('names each linuxkit.yml entry it cannot map instead of dropping it (exit 2)', async () => {
    const bad = join(dir, 'bad.yml');
    writeFileSync(
      bad,
      readFileSync(config, 'utf8').replace('services:\n', 'services:\n  - name: db\n    image: redis:7\n'),
    );
    await expect(build('x86_64', join(dir, 'cache'), bad)).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/no local equivalent for: services\[0\] \(redis:7\)/),
    });
  });

  it('--image DIR: uses an existing image, checked against its manifest', async () => {
    const img = await build('x86_64');
    const copy = join(dir, 'copy');
    mkdirSync(copy);
    for (const f of ['nslab-kernel', 'nslab-vmlinux', 'nslab-initrd.img', 'nslab-cmdline', 'manifest.json'])
      copyFileSync(join(img.dir, f), join(copy, f));
    const opened = await buildImage({
      config,
      arch: 'x86_64',
      builder: 'debian',
      cacheRoot: join(dir, 'cache'),
      imageDir: copy,
    });
    expect(opened.dir).toBe(copy);
    writeFileSync(join(copy, 'nslab-cmdline'), 'init=/bin/sh\n');
    await expect(
      buildImage({
        config,
        arch: 'x86_64',
        builder: 'debian',
        cacheRoot: join(dir, 'cache'),
        imageDir: copy,
      }),
    ).rejects.toThrow(/nslab-cmdline does not match its manifest/);
  });
});

describe('the linuxkit builder (a stand-in linuxkit on PATH: the real CLI cannot run here)', () => {
  it('sends exactly the argv LinuxKit documents and collects its three outputs', async () => {
    const bin = join(dir, 'fakebin');
    mkdirSync(bin, { recursive: true });
    const record = join(dir, 'linuxkit-argv.json');
    writeFileSync(
      join(bin, 'linuxkit'),
      `#!/usr/bin/env node
const fs = require('fs'), path = require('path');
const args = process.argv.slice(2);
if (args[0] === 'version') { console.log('linuxkit version v1.6.0'); process.exit(0); }
fs.writeFileSync(${JSON.stringify(record)}, JSON.stringify(args));
const dir = args[args.indexOf('--dir') + 1], name = args[args.indexOf('--name') + 1];
fs.writeFileSync(path.join(dir, name + '-kernel'), 'kernel');
fs.writeFileSync(path.join(dir, name + '-initrd.img'), 'initrd');
fs.writeFileSync(path.join(dir, name + '-cmdline'), 'console=ttyS0\\n');
`,
      { mode: 0o755 },
    );
    const oldPath = process.env.PATH;
    process.env.PATH = `${bin}:${oldPath}`;
    try {
      const img = await buildImage({
        config,
        arch: 'aarch64',
        builder: 'linuxkit',
        cacheRoot: join(dir, 'lk-cache'),
      });
      const argv = JSON.parse(readFileSync(record, 'utf8'));
      expect(argv.slice(0, -3)).toEqual(linuxkitBuildArgv(config, 'X', 'aarch64').slice(0, -3));
      expect(argv).toEqual(
        expect.arrayContaining([
          'build',
          '--format',
          'kernel+initrd',
          '--arch',
          'arm64',
          '--name',
          'nslab',
          config,
        ]),
      );
      expect(img.manifest.builder).toBe('linuxkit');
      expect(img.cmdline).toBe('console=ttyS0');
      expect(readFileSync(img.kernel, 'utf8')).toBe('kernel');
      const again = await buildImage({
        config,
        arch: 'aarch64',
        builder: 'linuxkit',
        cacheRoot: join(dir, 'lk-cache'),
      });
      expect(again.cacheHit).toBe(true);
    } finally {
      process.env.PATH = oldPath;
    }
  });
});
