// The system packages nslab needs, in one place: `npm run setup` installs them for users, .ci/run for CI.
// Debian/Ubuntu package names; each line says why it is here.
const qemuForHost = process.arch === 'arm64' ? 'qemu-system-arm' : 'qemu-system-x86';

export const APT_RUNTIME = [
  'util-linux', // unshare and nsenter for the native target
  'procps', // ps inside and outside the namespace
  'iproute2', // ip, for the net-ns scenario
  'busybox-static', // the static program of chroot-static, and the one file of runc's and docker's root
  'runc', // --runtime runc (Docker's daemon, for --runtime docker, is yours to install: docker.io)
  qemuForHost, // the vm target boots the image with QEMU
  'ca-certificates', // the debian image builder fetches packages from the Debian mirror the first time
];

// What the test suite needs on top.
export const APT_TEST = [
  'qemu-system-x86', // both guest architectures are booted in the tests (aarch64 is the Apple Silicon path)
  'qemu-system-arm',
  'dropbear-bin', // dropbearkey checks the host keys nslab writes in dropbear's format
  'openssh-client', // ssh-keygen checks the OpenSSH-format keys
  'cpio', // reads back the initramfs archives nslab writes
  'docker.io', // --runtime docker's contract tests; .ci/run starts its dockerd
  'chromium', // report.html is checked in a real headless browser (driven by playwright-core)
  'shellcheck', // the CI workflow's bash steps are checked with it
];

export const BREW_RUNTIME = ['qemu'];
