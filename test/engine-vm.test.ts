import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  copyFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../harness/image/build.ts';
import type { BuiltImage } from '../harness/image/manifest.ts';
import { DEFAULT_IMAGE_CACHE } from '../harness/cli/paths.ts';
import { DEFAULT_ENGINE_YML } from '../harness/cli/engine-command.ts';
import { qemuProcessesWith } from './helpers/image.ts';
import { realQemu } from './helpers/stand-in-qemu.ts';
import { findOnPath, skipNote } from './helpers/tools.ts';

// nslab's own Docker engine end to end: the real engine image (Debian's docker.io), `nslab engine up` under
// TCG as a child process, and the host's real docker CLI through the socket it prints.
const BIN = new URL('../bin/nslab.mjs', import.meta.url).pathname;
const hasQemu = realQemu('x86_64') !== undefined;
const docker = findOnPath('docker');
const busybox = findOnPath('busybox');
const runs = process.arch === 'x64' && hasQemu && docker && busybox;
const why = !hasQemu
  ? 'qemu-system-x86_64 is not on PATH'
  : !docker
    ? 'no docker CLI on PATH'
    : !busybox
      ? 'no busybox on PATH (busybox-static)'
      : 'the engine image is x86_64 here and this host is not';

// Generous: a cold TCG boot of a 150 MB initramfs, then dockerd and containerd starting under emulation.
const UP_MS = 420_000;
const TAG = 'nslab-engine-test/busybox:1';

let dir: string;
let runtime: string;
let image: BuiltImage;
let up: ResultPromise | undefined;
let dockerHost = '';
let socketPath = '';
let stderr = '';

const dockerCli = (args: string[], input?: string) =>
  execa(docker!, args, {
    env: { DOCKER_HOST: dockerHost, DOCKER_CONFIG: join(dir, 'docker-config') },
    reject: false,
    input,
  });

beforeAll(async () => {
  if (!runs) return;
  dir = mkdtempSync(join(tmpdir(), 'nslab-engine-'));
  runtime = mkdtempSync(join(tmpdir(), 'nslab-rt-'));
  image = await buildImage({
    config: DEFAULT_ENGINE_YML,
    arch: 'x86_64',
    builder: 'debian',
    cacheRoot: DEFAULT_IMAGE_CACHE,
  });
}, 600_000);
afterAll(() => {
  if (!runs) return;
  if (up && up.exitCode === null) up.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  rmSync(runtime, { recursive: true, force: true });
});

describe.runIf(runs)(`nslab engine up${skipNote(runs, why)}`, () => {
  it('the engine image has its own packages, and linuxkit.yml none of them', () => {
    expect(image.manifest.packages).toHaveProperty('docker.io');
    expect(image.manifest.packages).toHaveProperty('containerd');
    expect(image.manifest.mapping?.find((m) => m.image.startsWith('docker:'))?.boot).toBe('service docker');
  });

  it(
    'prints one DOCKER_HOST line once dockerd answers; the socket is 0600 in the 0700 run folder',
    async () => {
      const started = performance.now();
      up = execa('node', [BIN, 'engine', 'up', '--accel', 'tcg'], {
        cwd: dir,
        reject: false,
        env: { NSLAB_RUNTIME_DIR: runtime, XDG_STATE_HOME: join(dir, 'state') },
      });
      up.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        up!.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(out);
        });
        void up!.then((r) => reject(new Error(`engine up exited ${r.exitCode}: ${stderr}`)));
      });
      console.log(`engine up: DOCKER_HOST after ${Math.round(performance.now() - started)} ms`);
      expect(line, stderr).toMatch(/^DOCKER_HOST=unix:\/\/\/.+\/docker\.sock\n$/);
      dockerHost = line.trim().slice('DOCKER_HOST='.length);
      socketPath = dockerHost.slice('unix://'.length);
      expect(statSync(socketPath).mode & 0o777).toBe(0o600);
      expect(statSync(dirname(socketPath)).mode & 0o777).toBe(0o700);
      const state = JSON.parse(readFileSync(join(dirname(socketPath), 'state.json'), 'utf8'));
      expect(state.dockerSocket).toBe(socketPath);
      expect(await qemuProcessesWith(state.name)).toEqual([state.pid]);
    },
    UP_MS,
  );

  it('the docker CLI sees the VM engine: its OperatingSystem, the guest kernel, not the host one', async () => {
    const version = await dockerCli(['version', '--format', '{{.Server.Version}}']);
    expect(version.exitCode, String(version.stderr)).toBe(0);
    expect(String(version.stdout).trim()).toMatch(/^20\.10\./);
    const info = JSON.parse(String((await dockerCli(['info', '--format', '{{json .}}'])).stdout));
    expect(info.OperatingSystem).toMatch(/^nslab engine VM/);
    expect(info.Name).toBe('nslab-engine');
    expect(info.KernelVersion).toBe(image.manifest.kernelVersion);
    expect(info.KernelVersion).not.toBe(execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim());
  }, 120_000);

  it('docker import and run: PID 1 in its namespace on the guest kernel; --pid=host sees the VM init', async () => {
    const root = join(dir, 'root');
    mkdirSync(join(root, 'bin'), { recursive: true });
    copyFileSync(busybox!, join(root, 'bin', 'busybox'));
    for (const applet of ['sh', 'cat', 'uname']) symlinkSync('busybox', join(root, 'bin', applet));
    const tar = join(dir, 'root.tar');
    execFileSync('tar', ['-C', root, '-cf', tar, '.']);
    const imported = await dockerCli(['import', tar, TAG]);
    expect(imported.exitCode, String(imported.stderr)).toBe(0);

    const ns = await dockerCli([
      'run',
      '--rm',
      '--pull=never',
      '--network=none',
      TAG,
      '/bin/sh',
      '-c',
      'echo $$; uname -r',
    ]);
    expect(ns.exitCode, String(ns.stderr)).toBe(0);
    expect(String(ns.stdout).trim().split('\n')).toEqual(['1', image.manifest.kernelVersion]);

    const host = await dockerCli([
      'run',
      '--rm',
      '--pid=host',
      '--privileged',
      '--network=host',
      '--uts=host',
      TAG,
      '/bin/sh',
      '-c',
      'cat /proc/1/comm',
    ]);
    expect(host.exitCode, String(host.stderr)).toBe(0);
    // The VM's PID 1 is nslab's /init (busybox sh), whose comm is "init".
    expect(String(host.stdout).trim()).toBe('init');
  }, 240_000);

  it('SIGINT: exit 130, the socket and the run folder gone, no QEMU of it left', async () => {
    expect(up, 'engine up started').toBeDefined();
    const name = JSON.parse(readFileSync(join(dirname(socketPath), 'state.json'), 'utf8')).name as string;
    up!.kill('SIGINT');
    const r = await up!;
    expect(r.exitCode, stderr).toBe(130);
    expect(existsSync(socketPath)).toBe(false);
    expect(existsSync(dirname(socketPath))).toBe(false);
    expect(await qemuProcessesWith(name)).toEqual([]);
  }, 60_000);
});
