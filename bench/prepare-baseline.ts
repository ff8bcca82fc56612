// For bench/vm-boot.mjs: the baseline's inputs, made with nslab's own pieces so that both sides boot the
// same kernel, initrd and keys with the same QEMU flags: argv.json, client_key, known_hosts.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openImageDir } from '../harness/image/cache.ts';
import { newBootSecrets, opensshPrivateKey, secretsOverlay } from '../harness/image/secrets.ts';
import { type AccelChoice, chooseAccelerator } from '../harness/vm/accel.ts';
import { hostArch } from '../harness/image/arch.ts';
import { probeAccelerators } from '../harness/vm/probe-accel.ts';
import { qemuArgv } from '../harness/vm/qemu-argv.ts';
import { findQemu } from '../harness/vm/qemu-binary.ts';
import { hostPlatform } from '../harness/platform/index.ts';

// accel: the one nslab's own runs used (a /dev/kvm that opens may still not run the guest); default: probed.
const [imageDir, work, accel] = process.argv.slice(2) as [string, string, string | undefined];
const image = await openImageDir(imageDir);
const secrets = newBootSecrets();
writeFileSync(join(work, 'initrd.img'), Buffer.concat([readFileSync(image.initrd), secretsOverlay(secrets)]));
writeFileSync(join(work, 'client_key'), opensshPrivateKey(secrets.client), { mode: 0o600 });
writeFileSync(join(work, 'known_hosts'), `[127.0.0.1]:10122 ${secrets.host.publicLine}\n`);
const qemu = await findQemu(image.manifest.arch, hostPlatform);
const d = chooseAccelerator({
  platform: hostPlatform,
  hostArch: hostArch(),
  guestArch: image.manifest.arch,
  requested: (accel ?? 'auto') as AccelChoice,
  probes: await probeAccelerators(hostPlatform, qemu),
});
if ('error' in d) throw new Error(d.error);
const argv = qemuArgv({
  platform: hostPlatform.os,
  guestArch: image.manifest.arch,
  accel: d.accel,
  kernel: image.bootKernel,
  initrd: join(work, 'initrd.img'),
  cmdline: image.cmdline,
  sshPort: 10122,
  consoleLog: join(work, 'console.log'),
  qmp: { socket: join(work, 'qmp.sock') },
  pidfile: join(work, 'q.pid'),
  name: 'nslab-bench',
});
writeFileSync(join(work, 'argv.json'), JSON.stringify([qemu, ...argv]));
