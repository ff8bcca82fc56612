import { describe, expect, it } from 'vitest';
import { CappedRecords, CappedText, forTerminal } from './capped-output.ts';

const records = (...fields: string[]) => Buffer.from(fields.map((f) => `${f}\0`).join(''));

describe('CappedRecords', () => {
  it('passes fields under the limit unchanged, whatever the chunking', () => {
    const c = new CappedRecords(20);
    const all = records('inside.pid', '1', 'inside.uname', 'Linux');
    for (let i = 0; i < all.length; i += 3) c.push(all.subarray(i, i + 3));
    expect(c.text()).toBe(all.toString());
  });
  it('cuts a long field, says how much it dropped, and keeps the fields after it', () => {
    const c = new CappedRecords(4);
    c.push(records('k', 'x'.repeat(100), 'next', 'ok'));
    expect(c.text()).toBe(`k\0xxxx\n[nslab: truncated, 96 bytes not kept]\0next\0ok\0`);
  });
  it('a field that never ends is cut too (no NUL at all)', () => {
    const c = new CappedRecords(8);
    for (let i = 0; i < 1000; i++) c.push(Buffer.alloc(1024, 0x41));
    expect(c.text()).toBe(`AAAAAAAA\n[nslab: truncated, ${1024 * 1000 - 8} bytes not kept]`);
  });
  it('invalid UTF-8 becomes U+FFFD, never a crash', () => {
    const c = new CappedRecords(100);
    c.push(Buffer.from([0x6b, 0, 0xff, 0xfe, 0x41, 0]));
    expect(c.text()).toBe('k\0\uFFFD\uFFFDA\0');
  });
});

describe('CappedText', () => {
  it('keeps the head and notes the rest', () => {
    const c = new CappedText(5);
    c.push(Buffer.from('hello world'));
    expect(c.text()).toBe('hello\n[nslab: truncated, 6 bytes not kept]');
    const small = new CappedText(50);
    small.push(Buffer.from('short'));
    expect(small.text()).toBe('short');
  });
});

describe('forTerminal', () => {
  it('removes escape sequences and control characters, keeps newlines and tabs', () => {
    expect(forTerminal('a\x1b]0;pwned\x07b\x1b[2Jc\x1b[31mred\x1b[0m\r\nd\te\x00\x7f\x9b')).toBe(
      'abcred\nd\te',
    );
    expect(forTerminal('plain text, ünïcödé ✓')).toBe('plain text, ünïcödé ✓');
    expect(forTerminal('\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\')).toBe('link');
  });
});
