// A newer QEMU than Debian 12's 7.2, for the tests that must see what Homebrew's and the Windows
// installers' QEMUs do: Debian's bookworm-backports has QEMU 10. Fetched and verified with nslab's own
// Debian reader (signed InRelease, SHA256 of each .deb), unpacked into the test cache, and run through a
// wrapper that points it at its own firmware and modules; its libraries are Debian 12's own.
import { chmodSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DebianArchive } from '../../harness/image/debian/archive.ts';
import { unpackDeb } from '../../harness/image/debian/deb.ts';
import { mirrorsFromEnv } from '../../harness/image/debian/sources.ts';
import { PROJECT_ROOT } from '../../harness/project-root.ts';
import { withLock } from '../../harness/util/lock.ts';

const PACKAGES = ['qemu-system-x86', 'qemu-system-common', 'qemu-system-data', 'seabios'];

/** Where the unpacked QEMU lives: the project's image cache, so that CI's cache keeps it too. */
const ROOT = join(PROJECT_ROOT, 'vm-images', 'test-qemu-backports');

/**
 * The path of a `qemu-system-x86_64` from bookworm-backports (QEMU 10), fetched on first use; undefined
 * with the reason when this host cannot have it (not x86_64 Linux, or the archive does not answer).
 */
export async function backportsQemu(): Promise<{ qemu: string } | { reason: string }> {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return { reason: 'bookworm-backports QEMU is fetched for x86_64 Linux only' };
  const wrapper = join(ROOT, 'qemu-system-x86_64');
  if (existsSync(wrapper)) return { qemu: wrapper };
  // Test files run in parallel processes, and more than one asks for it on a fresh clone: one fetches.
  mkdirSync(ROOT, { recursive: true });
  return withLock(join(ROOT, '.lock'), () =>
    existsSync(wrapper) ? Promise.resolve({ qemu: wrapper }) : fetchQemu(wrapper),
  );
}

/** Fetches, verifies and unpacks the packages, then writes the wrapper last (its presence means done). */
async function fetchQemu(wrapper: string): Promise<{ qemu: string } | { reason: string }> {
  const archive = new DebianArchive(join(ROOT, 'archive'), 'amd64', [
    {
      id: 'debian_bookworm-backports',
      mirror: mirrorsFromEnv(process.env).debian,
      suite: 'bookworm-backports',
      component: 'main',
    },
  ]);
  try {
    await archive.ensureIndices(false);
    // resolve() also names a kernel; only the four QEMU packages are fetched.
    const { packages } = await archive.resolve(PACKAGES, 'linux-image-cloud-amd64');
    const wanted = packages.filter((p) => PACKAGES.includes(p.name));
    const paths = await archive.download(wanted);
    const root = join(ROOT, 'root');
    rmSync(root, { recursive: true, force: true });
    for (const p of wanted) {
      const tree = await unpackDeb(await archive.readVerified(p, paths.get(p.name)!), paths.get(p.name)!);
      for (const [path, entry] of tree) {
        const to = join(root, path);
        if (entry.type === 'dir') mkdirSync(to, { recursive: true });
        else {
          mkdirSync(dirname(to), { recursive: true });
          rmSync(to, { force: true });
          if (entry.type === 'symlink') symlinkSync(entry.target, to);
          else writeFileSync(to, entry.data, { mode: entry.mode & 0o777 });
        }
      }
    }
  } catch (error) {
    return { reason: `bookworm-backports QEMU could not be fetched: ${(error as Error).message}` };
  }
  // -L: its own firmware first (QEMU 10 wants seabios 1.16.3; Debian 12 has 1.16.2).
  writeFileSync(
    wrapper,
    `#!/bin/sh
# QEMU from bookworm-backports, with its own firmware and modules (nslab test helper)
here=$(dirname "$0")/root
QEMU_MODULE_DIR="$here/usr/lib/x86_64-linux-gnu/qemu" exec "$here/usr/bin/qemu-system-x86_64" -L "$here/usr/share/qemu" -L "$here/usr/share/seabios" "$@"
`,
  );
  chmodSync(wrapper, 0o755);
  return { qemu: wrapper };
}
