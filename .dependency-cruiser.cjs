// Layering of harness/, checked by `npm run lint` (dependency-cruiser). Data flows one way, lowest first:
//
//   base (vocabulary.ts, util/, platform/, errors.ts, version.ts, project-root.ts) → config → image → ssh → vm
//   → targets → runtimes → scenario → report → run → doctor → cli → index.ts (the public API)
//
// A module may import its own layer and any layer before it, never one after it. Tests (*.test.ts, test/)
// and bench/ stand outside the layers and may import anything. No import cycles anywhere, type-only
// imports included (tsPreCompilationDeps), because a type cycle between folders is still a knot.

/** The layers in order, each a path regex relative to the project root. */
const LAYERS = [
  ['base', '^harness/(vocabulary|errors|version|project-root|paths)\\.ts$|^harness/(util|platform)/'],
  ['config', '^harness/config/'],
  ['image', '^harness/image/'],
  ['ssh', '^harness/ssh/'],
  ['vm', '^harness/vm/'],
  ['targets', '^harness/targets/'],
  ['runtimes', '^harness/runtimes/'],
  ['scenario', '^harness/scenario/'],
  ['report', '^harness/report/'],
  ['run', '^harness/run/'],
  ['doctor', '^harness/doctor/'],
  ['cli', '^harness/cli/'],
  ['api', '^harness/index\\.ts$'],
];

const TESTS = '\\.test\\.ts$';

// One rule per layer: it must not import any layer above it. The rule name says which way was broken.
const layerRules = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `layer-${name}-imports-above`,
  comment: `${name} sits below ${LAYERS.slice(i + 1)
    .map(([n]) => n)
    .join(', ')} and must not import them (flow: ${LAYERS.map(([n]) => n).join(' → ')})`,
  severity: 'error',
  from: { path, pathNot: TESTS },
  to: { path: LAYERS.slice(i + 1).map(([, p]) => p) },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment:
        'Import cycles (type-only ones included) tie layers into one knot; move the shared part lower.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'not-to-unresolvable',
      comment: 'An import the checker cannot resolve would slip past every rule above.',
      severity: 'error',
      from: {},
      // bin/nslab.mjs loads the bundle only when `npm run build` has made it.
      to: { couldNotResolve: true, pathNot: '^\\.\\./dist/nslab\\.mjs$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|reports|vm-images|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.mjs', '.js', '.cjs', '.json', '.d.ts'],
    },
  },
};
