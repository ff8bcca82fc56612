import type { ExpectationResult } from '../scenario/expect.ts';

/** A value as the renderers print it: strings as they are, anything else as JSON. */
export const show = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? 'undefined'));

/** What an expectation wanted: the literal, or for sameAs/differsFrom the other path and what it held. */
export function expectedText(x: ExpectationResult): string {
  return x.op === 'sameAs' || x.op === 'differsFrom' ? `${x.value} = ${show(x.other)}` : show(x.value);
}
