import { decideAccess } from '../targets/index.ts';
import { settledFailure, SILENCE_BOUND_MS } from '../vm/accel-trial.ts';
import type { DoctorFacts } from './facts.ts';

export type Mark = 'ok' | 'warn' | 'fail' | 'info';

/** One line of the doctor's answer: what was found, the evidence, and what to do when it is not fine. */
export interface DoctorItem {
  section: 'host' | 'qemu' | 'accelerator' | 'network' | 'native' | 'runtime' | 'images' | 'tools';
  mark: Mark;
  text: string;
  detail?: string[];
  hint?: string;
}

export interface DoctorReport {
  /** A VM run can start here: QEMU for this host's architecture, a safe runtime folder, an image or a builder. */
  vmPossible: boolean;
  /** What stops a VM run, each with how to get it. */
  missing: { what: string; how: string }[];
  /** What --accel auto will use for a guest of this host's architecture, and why. */
  accelerator: { accel: string; reason: string };
  items: DoctorItem[];
  facts: DoctorFacts;
}

const MiB = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/** A `--recheck` trial boot that failed even under TCG. */
export interface TrialFailure {
  message: string;
  hint?: string;
}

/**
 * The doctor's verdicts, made from the facts (and a failed `--recheck` trial boot, if any). Pure: every
 * host's answer is tested here.
 */
export function doctorReport(f: DoctorFacts, trialFailure?: TrialFailure): DoctorReport {
  const items: DoctorItem[] = [];
  const missing: { what: string; how: string }[] = [];
  const fail = (item: Omit<DoctorItem, 'mark'>) => {
    items.push({ ...item, mark: 'fail' });
    missing.push({ what: item.text, how: item.hint ?? '' });
  };

  items.push({
    section: 'host',
    mark: 'ok',
    text: `${f.host.platform} ${f.host.arch}: ${f.host.os} ${f.host.release}`,
    detail: [f.host.version],
  });

  for (const q of f.qemu) {
    const own = q.arch === f.host.arch;
    const label = `QEMU for ${q.arch} guests`;
    if (!q.path) {
      if (own) fail({ section: 'qemu', text: `${label}: not found`, hint: q.installHint });
      else
        items.push({
          section: 'qemu',
          mark: 'info',
          text: `${label}: not found (only needed for --arch ${q.arch})`,
          hint: q.installHint,
        });
    } else if (q.versionProblem)
      fail({ section: 'qemu', text: `${label}: ${q.versionProblem}`, hint: q.installHint });
    else
      items.push({
        section: 'qemu',
        mark: 'ok',
        text: `${label}: ${q.path}`,
        detail: [`${q.versionLine || 'version unknown'}${own ? '' : ' (runs under TCG on this host)'}`],
      });
  }

  const a = f.accel;
  const decision = 'accel' in a.decision ? a.decision : { accel: 'tcg' as const, reason: a.decision.error };
  let accelerator = { accel: decision.accel as string, reason: decision.reason };
  if (!a.native) {
    items.push({
      section: 'accelerator',
      mark: 'info',
      text: `no hardware accelerator on ${f.host.platform}: VMs run under TCG`,
    });
  } else {
    const evidence: string[] = [];
    if (a.device)
      evidence.push(
        a.device.opens
          ? `${a.device.path} opens read-write`
          : `${a.device.path} does not open read-write (${a.device.error})`,
      );
    if (decision.accel === 'tcg') {
      items.push({
        section: 'accelerator',
        mark: 'warn',
        text: `${a.native}: not usable, VMs run under TCG (slow)`,
        detail: [...evidence, decision.reason],
        hint:
          a.native === 'kvm'
            ? 'enable virtualization, load the kvm module, and add yourself to the kvm group (then log in again)'
            : a.native === 'hvf'
              ? 'a Mac without the Hypervisor framework (e.g. a VM without nested virtualization) can only emulate'
              : 'enable the "Windows Hypervisor Platform" feature and reboot',
      });
    } else if (!a.remembered) {
      items.push({
        section: 'accelerator',
        mark: 'info',
        text: `${a.native}: available, not tried yet`,
        detail: [
          ...evidence,
          `the next VM run tries it first and falls back to tcg within ${SILENCE_BOUND_MS / 1000} s if the guest does not run`,
        ],
        hint: 'nslab doctor --recheck boots a VM now to find out',
      });
      accelerator = {
        accel: decision.accel,
        reason: `${decision.reason}; not tried yet (tcg if the trial fails)`,
      };
    } else if (a.remembered.ok) {
      items.push({
        section: 'accelerator',
        mark: 'ok',
        text: `${a.native}: boots the guest here`,
        detail: [...evidence, `trial boot passed on ${a.remembered.checkedAt}`],
      });
      accelerator = {
        accel: decision.accel,
        reason: `${decision.reason}; a trial boot passed on ${a.remembered.checkedAt}`,
      };
    } else if (settledFailure(a.remembered)) {
      items.push({
        section: 'accelerator',
        mark: 'warn',
        text: `${a.native}: fails here, VMs run under TCG (slow)`,
        detail: [...evidence, `trial boot on ${a.remembered.checkedAt}: ${a.remembered.failure ?? 'failed'}`],
        hint: 'nslab doctor --recheck forgets this and tries again (after a QEMU, kernel or BIOS change, say)',
      });
      accelerator = { accel: 'tcg', reason: `${a.native} failed: ${a.remembered.failure ?? 'failed'}` };
    } else {
      // A single failure that may have been chance (a silent guest on a loaded host): tried once more.
      items.push({
        section: 'accelerator',
        mark: 'warn',
        text: `${a.native}: failed once here, tried again on the next VM run`,
        detail: [
          ...evidence,
          `trial boot on ${a.remembered.checkedAt}: ${a.remembered.failure ?? 'failed'}`,
          'a second failure in a row settles it: later runs then go straight to tcg',
        ],
      });
      accelerator = {
        accel: decision.accel,
        reason: `${decision.reason}; failed once (tcg if it fails again)`,
      };
    }
  }
  // Even TCG could not boot: no VM run can start here, whatever the other facts say.
  if (trialFailure)
    fail({
      section: 'accelerator',
      text: `the trial boot failed: ${trialFailure.message}`,
      hint: trialFailure.hint ?? 'see the lines above',
    });
  items.push({
    section: 'accelerator',
    mark: 'info',
    text: `--accel auto uses ${accelerator.accel}`,
    detail: [accelerator.reason, `remembered verdicts: ${a.allVerdicts} in ${a.verdictFile}`],
  });

  if (f.native) {
    const d = decideAccess(f.native);
    const n = f.native;
    const detail = [
      `uid ${n.uid}${n.uid !== 0 ? `, sudo -n ${n.sudo ? 'works' : 'does not work'}, unprivileged user namespace ${n.userns ? 'works' : 'does not work'}` : ''}`,
      ...(n.maxUserNamespaces !== undefined ? [`user.max_user_namespaces = ${n.maxUserNamespaces}`] : []),
      ...(n.unprivilegedUsernsClone !== undefined
        ? [`kernel.unprivileged_userns_clone = ${n.unprivilegedUsernsClone}`]
        : []),
      ...(n.apparmorRestrictsUserns !== undefined
        ? [`kernel.apparmor_restrict_unprivileged_userns = ${n.apparmorRestrictsUserns}`]
        : []),
    ];
    if ('access' in d)
      items.push({
        section: 'native',
        mark: 'ok',
        text: `native scenarios run ${{ root: 'as root', sudo: 'through sudo -n', userns: 'rootless, in a user namespace' }[d.access]}`,
        detail,
      });
    else
      items.push({
        section: 'native',
        mark: 'warn',
        text: `native scenarios are skipped here: ${d.skip.reason}`,
        detail: [d.skip.detail, ...detail],
        hint: d.skip.hint,
      });
  } else
    items.push({
      section: 'native',
      mark: 'info',
      text: `native scenarios need Linux; on ${f.host.platform} they run in the VM`,
    });

  const r = f.runtime;
  if (r.problem)
    fail({
      section: 'runtime',
      text: `runtime folder ${r.dir} (from ${r.from}) ${r.problem.what}`,
      hint: `${r.problem.fix}, or ${r.otherwise}`,
    });
  else
    items.push({
      section: 'runtime',
      mark: 'ok',
      text: `runtime folder ${r.dir} (from ${r.from})`,
      detail: [
        r.exists ? 'a folder of yours, mode 0700: private' : 'absent: created with mode 0700 on first use',
      ],
    });

  // A policy, not a fact of this host: the same on every host OS (qemu-argv.ts).
  items.push({
    section: 'network',
    mark: 'info',
    text: 'guest network: isolated: a VM guest reaches nothing but its own SSH forward on 127.0.0.1 (QEMU user network, restrict=on)',
    detail: [
      "--guest-network opens it: the guest then reaches the host's loopback services and whatever the host reaches",
    ],
  });

  const c = f.cache;
  const ownImages = c.images.filter((i) => i.arch === f.host.arch);
  const total = c.images.reduce((n, i) => n + i.bytes, 0);
  items.push({
    section: 'images',
    mark: 'info',
    text: `image cache ${c.root}: ${c.images.length} image${c.images.length === 1 ? '' : 's'}, ${MiB(total)}; Debian package cache ${MiB(c.packageBytes)}`,
    detail: c.images.map(
      (i) =>
        `${i.digest}  ${i.arch}  ${i.builder}  ${i.kernelVersion ?? ''}  ${MiB(i.bytes)}  ${i.createdAt}`,
    ),
  });
  const b = f.builders;
  const archive = b.archive;
  if (archive.answers)
    items.push({
      section: 'images',
      mark: 'ok',
      text: `images are built with the debian builder: Debian's archive answers (${archive.url}, ${archive.detail}, ${archive.ms} ms)`,
    });
  else if (ownImages.length > 0)
    items.push({
      section: 'images',
      mark: 'warn',
      text: `Debian's archive does not answer (${archive.url}: ${archive.detail}): only the cached ${f.host.arch} image can boot`,
      hint: 'a new image needs the archive once: check the network, or set NSLAB_DEBIAN_MIRROR to a mirror that answers',
    });
  else
    fail({
      section: 'images',
      text: `no ${f.host.arch} image in the cache, and Debian's archive does not answer (${archive.url}: ${archive.detail})`,
      hint: 'check the network, set NSLAB_DEBIAN_MIRROR to a mirror that answers, or pass --image DIR with an image built elsewhere (e.g. a CI artifact)',
    });
  if (b.linuxkit)
    items.push({
      section: 'images',
      mark: 'info',
      text: `linuxkit: ${b.linuxkit} (used only with --builder linuxkit)`,
    });

  for (const t of f.tools)
    items.push(
      t.path
        ? { section: 'tools', mark: 'ok', text: `${t.name}: ${t.path}`, detail: [t.neededFor] }
        : {
            section: 'tools',
            mark: 'warn',
            text: `${t.name}: not found (${t.neededFor})`,
            hint: `apt-get install ${t.package} (npm run setup does)`,
          },
    );

  return { vmPossible: missing.length === 0, missing, accelerator, items, facts: f };
}
