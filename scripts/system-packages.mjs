// The system packages nslab needs, in one place: `npm run setup` installs them for users, .ci/run for CI.
// Debian/Ubuntu package names; each line says why it is here.
export const APT_RUNTIME = [
  'util-linux', // unshare and nsenter for the native target
  'procps', // ps inside and outside the namespace
];

// What the test suite needs on top: busybox to run the probe exactly as the VM's userland does.
export const APT_TEST = ['busybox-static'];

export const BREW_RUNTIME = ['qemu'];
