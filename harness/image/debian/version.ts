/**
 * Debian version comparison, as dpkg does it (deb-version(7)): epoch, then upstream version, then revision,
 * each compared in alternating runs of non-digits (letters before non-letters, `~` before everything, even
 * the end) and digits (as numbers). Pure; checked against `dpkg --compare-versions` in its test.
 */
export function compareVersions(a: string, b: string): number {
  const pa = split(a);
  const pb = split(b);
  return (
    pa.epoch - pb.epoch || comparepart(pa.upstream, pb.upstream) || comparepart(pa.revision, pb.revision)
  );
}

function split(version: string): { epoch: number; upstream: string; revision: string } {
  const colon = version.indexOf(':');
  const epoch = colon >= 0 ? Number(version.slice(0, colon)) : 0;
  const rest = colon >= 0 ? version.slice(colon + 1) : version;
  const dash = rest.lastIndexOf('-');
  return dash >= 0
    ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) }
    : { epoch, upstream: rest, revision: '' };
}

/** The weight of one character in a non-digit run: `~` lowest, then the end, then letters, then the rest. */
function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

function comparepart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // A non-digit run, character by character.
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ca = isDigit(a[i]) ? undefined : a[i];
      const cb = isDigit(b[j]) ? undefined : b[j];
      const d = order(ca) - order(cb);
      if (d !== 0) return d;
      i++;
      j++;
    }
    // A digit run, as a number (leading zeros do not count).
    let na = '';
    let nb = '';
    while (isDigit(a[i])) na += a[i++];
    while (isDigit(b[j])) nb += b[j++];
    na = na.replace(/^0+/, '');
    nb = nb.replace(/^0+/, '');
    if (na.length !== nb.length) return na.length - nb.length;
    if (na !== nb) return na < nb ? -1 : 1;
  }
  return 0;
}
