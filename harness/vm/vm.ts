// The VM lifecycle's public face, as other layers import it: configure (VmBuilder), boot, use (StartedVm).
export { VmBuilder } from './vm-builder.ts';
export { StartedVm } from './started-vm.ts';
export { AcceleratorFailedError, BootError, InterruptedError } from './errors.ts';
export { defaultBootTimeoutMs, type VmConfig } from './vm-config.ts';
