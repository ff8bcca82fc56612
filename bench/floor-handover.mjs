// The floors' stand-in for what nslab's Node side does over QEMU's sockets, and nothing more (no nslab code):
// for a restore, QMP migrate-incoming of the saved guest and cont; then the boot's secrets message written
// to the nslab.secrets socket. Usage: node bench/floor-handover.mjs QMP_SOCKET SECRETS_SOCKET MESSAGE [URI]
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const [qmpPath, secretsPath, messageFile, uri] = process.argv.slice(2);

/** Connects, retried until QEMU listens (it may not yet right after its spawn). */
async function open(path) {
  for (let i = 0; ; i++) {
    try {
      return await new Promise((resolve, reject) => {
        const s = connect(path, () => resolve(s));
        s.once('error', reject);
      });
    } catch (error) {
      if (i > 1000) throw error;
      await sleep(5);
    }
  }
}

/** Sends QMP commands in order over one connection; resolves with each reply's `return`. */
async function qmp(commands) {
  const s = await open(qmpPath);
  const replies = [];
  let buf = '';
  await new Promise((resolve, reject) => {
    const queue = [{ execute: 'qmp_capabilities' }, ...commands];
    s.on('data', (d) => {
      buf += d;
      for (let nl; (nl = buf.indexOf('\n')) >= 0;) {
        const msg = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (msg.event) continue;
        if (msg.error) return reject(new Error(msg.error.desc));
        if (!msg.QMP) replies.push(msg.return);
        const next = queue.shift();
        if (next) s.write(`${JSON.stringify(next)}\n`);
        else return resolve();
      }
    });
    s.on('error', reject);
  });
  s.destroy();
  return replies;
}

if (uri) {
  await qmp([{ execute: 'migrate-incoming', arguments: { uri } }]);
  for (;;) {
    const [, status] = await qmp([{ execute: 'query-status' }]);
    if (status.status !== 'inmigrate') break;
    await sleep(10);
  }
  await qmp([{ execute: 'cont' }]);
}
const s = await open(secretsPath);
s.end(readFileSync(messageFile));
await new Promise((resolve) => s.on('close', resolve));
