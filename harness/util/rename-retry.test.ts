import { describe, expect, it } from 'vitest';
import { renameWithRetry } from './rename-retry.ts';

// Windows cannot run here: a contract test of what nslab does when rename() meets a held file.
const busy = (times: number, code = 'EPERM') => {
  const calls: string[] = [];
  const rename = async (from: unknown, to: unknown) => {
    calls.push(`${String(from)}->${String(to)}`);
    if (calls.length <= times) throw Object.assign(new Error(`${code}: held`), { code });
  };
  return { calls, rename: rename as never };
};

describe('renameWithRetry (contract: Windows)', () => {
  it('on win32, retries EPERM/EBUSY/EACCES a few times and then succeeds', async () => {
    const r = busy(2);
    await renameWithRetry('a', 'b', { platform: 'win32', rename: r.rename, delaysMs: [1, 1, 1] });
    expect(r.calls).toEqual(['a->b', 'a->b', 'a->b']);
  });

  it('on win32, gives up after its delays with the original error', async () => {
    const r = busy(10, 'EBUSY');
    await expect(
      renameWithRetry('a', 'b', { platform: 'win32', rename: r.rename, delaysMs: [1, 1] }),
    ).rejects.toThrow('EBUSY: held');
    expect(r.calls).toHaveLength(3);
  });

  it('elsewhere, and for other errors, throws at once', async () => {
    const linux = busy(1);
    await expect(renameWithRetry('a', 'b', { platform: 'linux', rename: linux.rename })).rejects.toThrow(
      'EPERM',
    );
    expect(linux.calls).toHaveLength(1);
    const other = busy(1, 'ENOENT');
    await expect(renameWithRetry('a', 'b', { platform: 'win32', rename: other.rename })).rejects.toThrow(
      'ENOENT',
    );
    expect(other.calls).toHaveLength(1);
  });
});
