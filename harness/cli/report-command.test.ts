import { describe, expect, it } from 'vitest';
import { openerFor } from './report-command.ts';

const FILE = '/home/you/nslab/reports/20261128T153608Z-0368/report.html';
const DESKTOP = { DISPLAY: ':0' };

describe('openerFor', () => {
  it('opens with xdg-open on a Linux desktop (X11 or Wayland)', () => {
    expect(openerFor('linux', DESKTOP, true, FILE)).toEqual({ argv: ['xdg-open', FILE] });
    expect(openerFor('linux', { WAYLAND_DISPLAY: 'wayland-0' }, true, FILE)).toEqual({
      argv: ['xdg-open', FILE],
    });
  });

  it('opens with open on macOS', () => {
    expect(openerFor('darwin', {}, true, FILE)).toEqual({ argv: ['open', FILE] });
  });

  it('opens with cmd /c start "" on Windows, the path quoted for the verbatim command line', () => {
    const file = 'C:\\Users\\Jo Smith\\nslab\\reports\\r\\report.html';
    expect(openerFor('win32', {}, true, file)).toEqual({ argv: ['cmd', '/c', 'start', '""', `"${file}"`] });
  });

  it.each(['CI', 'GITHUB_ACTIONS', 'GITLAB_CI'])('never opens when %s is set', (name) => {
    for (const platform of ['linux', 'darwin', 'win32'] as const) {
      const o = openerFor(platform, { ...DESKTOP, [name]: 'true' }, true, FILE);
      expect(o).toEqual({ reason: expect.stringContaining(`${name} is set`) });
    }
  });

  it('CI=false and CI=0 mean not CI', () => {
    expect(openerFor('darwin', { CI: 'false' }, true, FILE)).toEqual({ argv: ['open', FILE] });
    expect(openerFor('darwin', { CI: '0' }, true, FILE)).toEqual({ argv: ['open', FILE] });
    expect(openerFor('darwin', { CI: '1' }, true, FILE)).toHaveProperty('reason');
  });

  it('never opens when stdout is not a terminal', () => {
    for (const platform of ['linux', 'darwin', 'win32'] as const) {
      expect(openerFor(platform, DESKTOP, false, FILE)).toEqual({
        reason: expect.stringContaining('stdout is not a terminal'),
      });
    }
  });

  it('does not open on Linux without a graphical session, nor where it knows no opener', () => {
    expect(openerFor('linux', {}, true, FILE)).toEqual({ reason: expect.stringContaining('DISPLAY') });
    expect(openerFor('aix', {}, true, FILE)).toEqual({ reason: expect.stringContaining('aix') });
  });
});
