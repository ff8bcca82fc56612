import { describe, expect, it } from 'vitest';
import { PLATFORMS } from '../platform/index.ts';
import { imageCacheFor, isInstalledPackage } from './paths.ts';

describe('where the image cache goes', () => {
  it('a clone keeps vm-images/ next to linuxkit.yml, on every host', () => {
    expect(imageCacheFor('/home/u/src/nslab', PLATFORMS.linux, {}, '/home/u')).toBe(
      '/home/u/src/nslab/vm-images',
    );
    expect(imageCacheFor('/Users/u/nslab', PLATFORMS.darwin, {}, '/Users/u')).toBe(
      '/Users/u/nslab/vm-images',
    );
    expect(imageCacheFor('C:\\src\\nslab', PLATFORMS.win32, {}, 'C:\\Users\\u')).toBe(
      'C:\\src\\nslab\\vm-images',
    );
  });

  it('an installed package (global, local, npx) uses the user’s cache folder, never the install', () => {
    expect(isInstalledPackage('/usr/lib/node_modules/nslab')).toBe(true);
    expect(isInstalledPackage('/home/u/.npm/_npx/1a2b/node_modules/nslab')).toBe(true);
    expect(isInstalledPackage('/home/u/node_modules_notes/nslab')).toBe(false);
    expect(
      imageCacheFor(
        '/usr/lib/node_modules/nslab',
        PLATFORMS.linux,
        { XDG_CACHE_HOME: '/var/cache/u' },
        '/home/u',
      ),
    ).toBe('/var/cache/u/nslab/vm-images');
    expect(imageCacheFor('/usr/lib/node_modules/nslab', PLATFORMS.linux, {}, '/home/u')).toBe(
      '/home/u/.cache/nslab/vm-images',
    );
    expect(imageCacheFor('/opt/homebrew/lib/node_modules/nslab', PLATFORMS.darwin, {}, '/Users/u')).toBe(
      '/Users/u/Library/Caches/nslab/vm-images',
    );
    expect(
      imageCacheFor(
        'C:\\Users\\u\\AppData\\Roaming\\npm\\node_modules\\nslab',
        PLATFORMS.win32,
        {},
        'C:\\Users\\u',
      ),
    ).toBe('C:\\Users\\u\\AppData\\Local\\nslab\\cache\\vm-images');
  });
});
