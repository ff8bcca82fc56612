import { describe, expect, it } from 'vitest';
import { userStateDir } from './user-dirs.ts';

describe('userStateDir', () => {
  it('linux: $XDG_STATE_HOME, else ~/.local/state; a relative XDG value is ignored', () => {
    expect(userStateDir('linux', { XDG_STATE_HOME: '/x/state' }, '/home/u')).toBe('/x/state/nslab');
    expect(userStateDir('linux', {}, '/home/u')).toBe('/home/u/.local/state/nslab');
    expect(userStateDir('linux', { XDG_STATE_HOME: 'rel' }, '/home/u')).toBe('/home/u/.local/state/nslab');
  });
  it('macOS: Application Support', () => {
    expect(userStateDir('darwin', { XDG_STATE_HOME: '/x' }, '/Users/u')).toBe(
      '/Users/u/Library/Application Support/nslab',
    );
  });
  it('windows: %LOCALAPPDATA%, with Windows separators', () => {
    expect(userStateDir('win32', { LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'C:\\Users\\u')).toBe(
      'C:\\Users\\u\\AppData\\Local\\nslab',
    );
    expect(userStateDir('win32', {}, 'C:\\Users\\u')).toBe('C:\\Users\\u\\AppData\\Local\\nslab');
  });
});
