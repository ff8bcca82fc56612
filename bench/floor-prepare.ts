// For bench/floor.mjs: the floors' inputs, made with nslab's own pieces so that each floor does the work of
// the nslab case it is compared with, and nothing else:
//   cold.json     the QEMU command line nslab's next cold boot runs (its own device set: virtio-serial
//                 secrets port, QMP socket, restrict=on network), from VmBuilder.showCommand()
//   restore.json  the command line of its restore (-incoming defer) and the saved guest it loads
//   secrets.bin   a secrets message for that port (fresh keys, made once), client_key, known_hosts
//   native.json   the `sh -s -- ARGS` words nslab's native target runs probe.sh with, for pid-ns/unshare
// Usage: node --import tsx bench/floor-prepare.ts IMAGE_DIR|- WORK ACCEL
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openImageDir } from '../harness/image/cache.ts';
import { newBootSecrets, opensshPrivateKey, secretsMessage } from '../harness/image/secrets.ts';
import { createRuntime } from '../harness/runtimes/index.ts';
import { loadScenariosNamed } from '../harness/scenario/load.ts';
import { probeArgs } from '../harness/scenario/probe.ts';
import { projectFile } from '../harness/project-root.ts';
import type { AccelChoice } from '../harness/vm/accel.ts';
import { VmBuilder } from '../harness/vm/vm.ts';
import { migrationUris } from '../harness/vm/snapshot.ts';
import { parseQemuVersion, qemuVersionLine } from '../harness/vm/qemu-binary.ts';
import { hostPlatform } from '../harness/platform/index.ts';

const [imageDir, work, accel] = process.argv.slice(2) as [string, string, string];
const [pidNs] = await loadScenariosNamed(projectFile('scenarios'), 'pid-ns');
writeFileSync(
  join(work, 'native.json'),
  JSON.stringify({
    script: projectFile('harness', 'scenario', 'probe.sh'),
    args: probeArgs(pidNs!, createRuntime('unshare')),
  }),
);
// IMAGE_DIR "-": the native floor only.
if (imageDir === '-') process.exit(0);
const image = await openImageDir(imageDir);
const planned = await new VmBuilder(image).withAccel(accel as AccelChoice).showCommand();
/** The values a floor script needs from one planned command line. */
const facts = (argv: string[]) => {
  const at = (flag: string) => argv[argv.indexOf(flag) + 1] ?? '';
  const secrets = argv.find((a) => a.startsWith('socket,id=secrets,path='));
  return {
    argv,
    dir: at('-pidfile').replace(/\/[^/]+$/, ''),
    console: at('-serial').replace(/^file:/, ''),
    qmp: at('-qmp')
      .replace(/^unix:/, '')
      .replace(/,.*$/, ''),
    secrets: secrets?.replace(/^socket,id=secrets,path=/, '').replace(/,.*$/, '') ?? '',
    sshPort: Number(/hostfwd=tcp:127\.0\.0\.1:(\d+)-/.exec(at('-netdev'))?.[1]),
  };
};
const restore = planned.find((p) => p.argv.includes('-incoming'));
const cold = planned.find((p) => !p.argv.includes('-incoming'))!;
writeFileSync(join(work, 'cold.json'), JSON.stringify(facts(cold.argv)));
if (restore) {
  const state = /restores the saved guest (\S+) /.exec(restore.comment ?? '')?.[1] ?? '';
  // How nslab loads it with this QEMU: file: from 8.2, else the file as QEMU's inherited fd 3.
  const qemuPath = restore.argv[0]!;
  const uris = migrationUris(state, parseQemuVersion(await qemuVersionLine(qemuPath)), hostPlatform)!;
  writeFileSync(
    join(work, 'restore.json'),
    JSON.stringify({ ...facts(restore.argv), state, uri: uris.from, inheritFd: uris.inheritFd ?? null }),
  );
}
const secrets = newBootSecrets();
writeFileSync(join(work, 'secrets.bin'), secretsMessage(secrets, Date.now(), randomBytes(64)));
writeFileSync(join(work, 'client_key'), opensshPrivateKey(secrets.client), { mode: 0o600 });
writeFileSync(join(work, 'host_key.pub'), `${secrets.host.publicLine}\n`);
