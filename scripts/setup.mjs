#!/usr/bin/env zx
// Installs what nslab needs on this OS, idempotently, and says what it installs.
// Usage: npm run setup            (the packages a user needs)
//        zx scripts/setup.mjs --test   (also what the test suite needs; .ci/run uses this)
import { $, argv, echo, which } from 'zx';
import { APT_RUNTIME, APT_TEST, BREW_RUNTIME } from './system-packages.mjs';

$.verbose = false;
const wantTest = Boolean(argv.test);

async function aptMissing(packages) {
  const missing = [];
  for (const p of packages) {
    const r = await $`dpkg-query -W -f=${'${Status}'} ${p}`.nothrow();
    if (!r.stdout.includes('install ok installed')) missing.push(p);
  }
  return missing;
}

async function setupApt() {
  const wanted = [...new Set([...APT_RUNTIME, ...(wantTest ? APT_TEST : [])])];
  const missing = await aptMissing(wanted);
  if (missing.length === 0) {
    echo(`setup: system packages already installed: ${wanted.join(', ')}`);
    return;
  }
  const root = process.getuid?.() === 0;
  const sudo = root ? [] : ['sudo'];
  if (!root && !(await which('sudo', { nothrow: true }))) {
    echo(
      `setup: need root to install ${missing.join(', ')}; run as root: apt-get install -y ${missing.join(' ')}`,
    );
    process.exit(3);
  }
  echo(`setup: installing with apt-get: ${missing.join(', ')}`);
  $.env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await $({ stdio: 'inherit' })`${sudo} apt-get update -q`;
  await $({ stdio: 'inherit' })`${sudo} apt-get install -y -q --no-install-recommends ${missing}`;
}

async function setupBrew() {
  if (!(await which('brew', { nothrow: true }))) {
    echo('setup: Homebrew not found; install QEMU yourself (https://www.qemu.org/download/) and run again');
    process.exit(3);
  }
  const missing = [];
  for (const p of BREW_RUNTIME)
    if ((await $`brew list --versions ${p}`.nothrow()).exitCode !== 0) missing.push(p);
  if (missing.length === 0)
    return echo(`setup: Homebrew packages already installed: ${BREW_RUNTIME.join(', ')}`);
  echo(`setup: installing with Homebrew: ${missing.join(', ')}`);
  await $({ stdio: 'inherit' })`brew install ${missing}`;
}

if (process.platform === 'linux' && (await which('apt-get', { nothrow: true }))) await setupApt();
else if (process.platform === 'linux')
  echo(`setup: not a Debian/Ubuntu system; install with your package manager: ${APT_RUNTIME.join(', ')}`);
else if (process.platform === 'darwin') await setupBrew();
else if (process.platform === 'win32')
  echo('setup: install QEMU for Windows (winget install SoftwareFreedomConservancy.QEMU) and put it on PATH');
echo('setup: done');
