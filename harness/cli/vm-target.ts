// The VM's command-line options belong to the vm target's driver (targets/vm/options.ts); `nslab vm` and
// `nslab engine` take the same ones from here.
export * from '../targets/vm/options.ts';
