// Backend detection from recorded `docker info` / `docker version` / `docker context inspect` outputs. Each
// recording's SOURCE.md (test/fixtures/engine/<folder>/) says where its values come from: a real run here
// (native-linux), a documented or reported output (the rest), or nslab engine VM's own run (when recorded).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectFile } from '../../project-root.ts';
import { detectBackend, type EngineFacts } from './backend.ts';

const FIXTURES = projectFile('test', 'fixtures', 'engine');

function recorded(folder: string, hostOs: string, extra: Partial<EngineFacts> = {}): EngineFacts {
  const read = (f: string) => {
    const p = join(FIXTURES, folder, f);
    return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as unknown) : undefined;
  };
  const context = read('context.json');
  const info = read('info.json') as Record<string, unknown> | undefined;
  const version = read('version.json') as Record<string, unknown> | undefined;
  return {
    ...(context
      ? { context: (Array.isArray(context) ? context[0] : context) as EngineFacts['context'] }
      : {}),
    info: info ?? {},
    ...(version ? { version } : {}),
    hostOs,
    ...extra,
  };
}

describe('detectBackend from recordings', () => {
  it('native-linux (a real run here): native dockerd on Linux, not in a VM', () => {
    const b = detectBackend(recorded('native-linux', 'linux'));
    expect(b).toMatchObject({
      id: 'native-linux',
      inVm: false,
      column: 'native dockerd on Linux',
      arch: 'x86_64',
    });
    expect(b.evidence.join('\n')).toContain('/var/run/docker.sock');
  });

  it('docker-desktop (docker/for-mac#7402, testcontainers-dotnet#1226): Docker Desktop (LinuxKit VM) on macOS', () => {
    const b = detectBackend(recorded('docker-desktop', 'darwin'));
    expect(b).toMatchObject({ id: 'docker-desktop', inVm: true, runsIn: 'LinuxKit VM' });
    expect(b.column).toBe('Docker Desktop (LinuxKit VM) on macOS');
    expect(b.evidence).toContain('docker info OperatingSystem "Docker Desktop"');
    expect(b.evidence).toContain('docker version Server.Platform.Name "Docker Desktop 4.33.0 (160616)"');
  });

  it('docker-desktop-wsl (a posted docker info on Windows): Docker Desktop (WSL 2 VM) on Windows', () => {
    const b = detectBackend(recorded('docker-desktop-wsl', 'win32'));
    expect(b).toMatchObject({ id: 'docker-desktop', runsIn: 'WSL 2 VM', arch: 'x86_64' });
    expect(b.column).toBe('Docker Desktop (WSL 2 VM) on Windows');
    expect(b.evidence).toContain('docker info Name "docker-desktop"');
  });

  it("orbstack (OrbStack's own test expectation, docker/compose#11242)", () => {
    const b = detectBackend(recorded('orbstack', 'darwin'));
    expect(b).toMatchObject({ id: 'orbstack', inVm: true, arch: 'aarch64' });
    expect(b.column).toBe("OrbStack (OrbStack's Linux VM) on macOS");
    expect(b.evidence).toEqual(
      expect.arrayContaining(['docker info OperatingSystem "OrbStack"', 'docker context "orbstack"']),
    );
  });

  it('orbstack-0.7 (orbstack/orbstack#1): recognised by its kernel before it named itself', () => {
    const b = detectBackend(recorded('orbstack-0.7', 'darwin'));
    expect(b.id).toBe('orbstack');
    expect(b.evidence).toEqual(['docker info KernelVersion "6.1.23-orbstack-00113-g6614aaccb205-dirty"']);
  });

  it('colima (ddev-intellij-plugin#258, dockerman.app#11): context and socket', () => {
    const b = detectBackend(recorded('colima', 'darwin'));
    expect(b).toMatchObject({ id: 'colima', runsIn: 'Lima VM', column: 'colima (Lima VM) on macOS' });
    expect(b.evidence).toHaveLength(2);
  });

  it("lima (derived from Lima's docker template and hostname rule)", () => {
    const b = detectBackend(recorded('lima', 'darwin'));
    expect(b).toMatchObject({ id: 'lima', column: 'Lima (Lima VM) on macOS' });
    expect(b.evidence).toHaveLength(3);
  });

  it('rancher-desktop (the name ddev documents): Lima VM on macOS, WSL 2 VM on Windows', () => {
    expect(detectBackend(recorded('rancher-desktop', 'darwin'))).toMatchObject({
      id: 'rancher-desktop',
      column: 'Rancher Desktop (Lima VM) on macOS',
    });
    const win = detectBackend({
      info: { OperatingSystem: 'Rancher Desktop WSL Distribution' },
      hostOs: 'win32',
    });
    expect(win).toMatchObject({ id: 'rancher-desktop', runsIn: 'WSL 2 VM' });
  });

  it('podman-machine (the component name Podman reports): a podman machine on macOS, Podman native on Linux', () => {
    expect(detectBackend(recorded('podman-machine', 'darwin'))).toMatchObject({
      id: 'podman-machine',
      inVm: true,
    });
    expect(
      detectBackend(
        recorded('podman-machine', 'linux', { dockerHost: 'unix:///run/user/1000/podman/podman.sock' }),
      ),
    ).toMatchObject({ id: 'podman', inVm: false, column: 'Podman on Linux' });
    expect(
      detectBackend(
        recorded('podman-machine', 'linux', {
          dockerHost: 'unix:///home/me/.local/share/containers/podman/machine/qemu/podman.sock',
        }),
      ),
    ).toMatchObject({ id: 'podman-machine' });
  });

  const nslab = join(FIXTURES, 'nslab-engine-vm', 'info.json');
  it.skipIf(!existsSync(nslab))(
    `nslab-engine-vm (nslab's own run)${existsSync(nslab) ? '' : ' (skipped: no recording yet in test/fixtures/engine/nslab-engine-vm/info.json)'}`,
    () => {
      const b = detectBackend(recorded('nslab-engine-vm', 'linux'));
      expect(b).toMatchObject({ id: 'nslab-engine-vm', inVm: true, runsIn: 'QEMU VM' });
    },
  );
});

describe('detectBackend by prefix, never equality', () => {
  it('a renamed version is still detected', () => {
    expect(detectBackend({ info: { OperatingSystem: 'Docker Desktop 4.40' }, hostOs: 'darwin' }).id).toBe(
      'docker-desktop',
    );
    expect(detectBackend({ info: { OperatingSystem: 'OrbStack 2.0' }, hostOs: 'darwin' }).id).toBe(
      'orbstack',
    );
    expect(detectBackend({ info: { Name: 'colima-work' }, hostOs: 'darwin' }).id).toBe('colima');
    expect(
      detectBackend({
        info: {},
        version: { Server: { Components: [{ Name: 'Podman Engine 6', Version: '6.0.0' }] } },
        hostOs: 'win32',
      }).id,
    ).toBe('podman-machine');
    expect(
      detectBackend({ info: { OperatingSystem: 'nslab engine VM (Debian 12)' }, hostOs: 'linux' }).id,
    ).toBe('nslab-engine-vm');
  });

  it("Docker Desktop on Linux is Docker Desktop, not a native daemon, even on Linux's default socket", () => {
    expect(
      detectBackend({
        info: { OperatingSystem: 'Docker Desktop', Name: 'docker-desktop' },
        context: { Name: 'desktop-linux', Endpoints: { docker: { Host: 'unix:///var/run/docker.sock' } } },
        hostOs: 'linux',
      }),
    ).toMatchObject({ id: 'docker-desktop', inVm: true, column: 'Docker Desktop (LinuxKit VM) on Linux' });
  });

  it('an unknown engine is "unknown", with an honest column and no claim about a VM', () => {
    const b = detectBackend({
      info: { OperatingSystem: 'Ubuntu 24.04 LTS', Name: 'buildbox' },
      dockerHost: 'tcp://10.0.0.5:2376',
      hostOs: 'darwin',
    });
    expect(b.id).toBe('unknown');
    expect(b.inVm).toBeUndefined();
    expect(b.column).toBe('Docker engine on "Ubuntu 24.04 LTS" (backend not recognised) on macOS');
    expect(b.evidence.join('\n')).toContain('tcp://10.0.0.5:2376');
    // A remote engine from a Linux host is not "native" either.
    expect(detectBackend({ info: {}, dockerHost: 'tcp://10.0.0.5:2376', hostOs: 'linux' }).id).toBe(
      'unknown',
    );
  });

  it('Enhanced Container Isolation: no source documents a docker info field for it, so nothing is claimed', () => {
    for (const folder of ['docker-desktop', 'docker-desktop-wsl', 'orbstack', 'native-linux'])
      expect(detectBackend(recorded(folder, 'darwin')).pidHostForbidden).toBeUndefined();
  });

  it("architecture in uname -m words, Go's names mapped", () => {
    expect(detectBackend({ info: { Architecture: 'arm64' }, hostOs: 'linux' }).arch).toBe('aarch64');
    expect(detectBackend({ info: { Architecture: 'amd64' }, hostOs: 'linux' }).arch).toBe('x86_64');
    expect(detectBackend({ info: {}, hostOs: 'linux' }).arch).toBeUndefined();
  });
});
