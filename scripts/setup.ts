// Installs the system packages nslab needs on this host with its package manager (apt, Homebrew, winget),
// idempotently, and says what it installs and why.
// Usage: npm run setup                 (what a user needs)
//        npm run setup -- --test       (also what the test suite needs: the README's test command)
//        scripts/setup.ts --test --check   (npm test's pretest: installs nothing; stops at once, naming
//                                          what is missing and the command that installs it)
import { execa } from 'execa';
import { hostArch } from '../harness/image/arch.ts';
import { hostPlatform } from '../harness/platform/index.ts';
import { unmetPackages } from '../harness/platform/installed.ts';
import { setupPlan, systemPackages } from '../harness/platform/system-packages.ts';
import { findOnPath } from '../harness/util/find-on-path.ts';

const say = (line: string) => process.stdout.write(`setup: ${line}\n`);
const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--test' && a !== '--check');
if (unknown.length > 0) {
  process.stderr.write(`setup: unknown option ${unknown[0]}; the options are --test and --check\n`);
  process.exit(2);
}
const wantTest = args.includes('--test');
const checkOnly = args.includes('--check');
const platform = hostPlatform;
const manager = platform.packageManager.name;
const tool = { apt: 'apt-get', brew: 'brew', winget: 'winget' }[manager];

const lists = systemPackages(platform, hostArch());
const wanted = [...lists.runtime, ...(wantTest ? lists.test : [])].filter(
  (p, i, all) => all.findIndex((q) => q.name === p.name) === i,
);
if (!findOnPath(platform.exe(tool))) {
  if (checkOnly) {
    // Before a test run on a host without this package manager: the tests that need a missing tool skip,
    // naming it.
    process.stderr.write(`setup: no ${tool} here: system packages not checked\n`);
    process.exit(0);
  }
  say(`${tool} not found; install these with your package manager, then run again:`);
  for (const p of wanted) say(`  ${p.name}: ${p.why}`);
  process.exit(3);
}
// A package whose command is already on PATH from elsewhere (Docker CE's dockerd, Docker's runc, a snap)
// needs no install.
const missing = await unmetPackages(platform, wanted);
if (checkOnly) {
  if (missing.length === 0) process.exit(0);
  // Before a test run: a minute of failing tests would say less than this.
  process.stderr.write(
    `setup: the ${wantTest ? 'tests need' : 'CLI needs'} system packages that are missing:\n`,
  );
  for (const p of wanted.filter((w) => missing.includes(w.name)))
    process.stderr.write(`  ${p.name}: ${p.why}\n`);
  process.stderr.write(`  → install them: npm run setup${wantTest ? ' -- --test' : ''}\n`);
  process.exit(3);
}
const plan = setupPlan({
  platform,
  missing,
  root: process.getuid?.() === 0,
  sudo: (await execa('sudo', ['-n', 'true'], { reject: false })).exitCode === 0,
});
if ('error' in plan) {
  process.stderr.write(`setup: ${plan.error}\n  → ${plan.hint}\n`);
  process.exit(3);
}
if (plan.commands.length === 0)
  say(`system packages already installed (${manager}): ${wanted.map((p) => p.name).join(', ')}`);
else {
  say(`installing with ${manager}:`);
  for (const p of wanted.filter((w) => missing.includes(w.name))) say(`  ${p.name}: ${p.why}`);
  for (const [cmd, ...rest] of plan.commands)
    await execa(cmd!, rest, { stdio: 'inherit', env: { DEBIAN_FRONTEND: 'noninteractive' } });
}
say('done');
