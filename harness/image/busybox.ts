/**
 * The applet names compiled into a busybox binary, read from its name table ("[", "[[", "acpid", ... each
 * NUL-terminated, ending with an empty name) without running it: the image may be another architecture.
 * Undefined when the table is not found, in which case the guest's /init runs `busybox --install`.
 */
export function busyboxApplets(binary: Buffer): string[] | undefined {
  const start = binary.indexOf(Buffer.from('\0[\0[[\0', 'latin1'));
  if (start < 0) return undefined;
  const names: string[] = [];
  let i = start + 1;
  for (;;) {
    const end = binary.indexOf(0, i);
    if (end < 0 || end === i) break;
    const name = binary.toString('latin1', i, end);
    if (!/^[a-z0-9_.[\]-]{1,32}$/.test(name)) return undefined;
    names.push(name);
    i = end + 1;
  }
  return names.length > 50 ? names : undefined;
}
