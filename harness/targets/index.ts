// vm (with ssh) → targets: where scenarios run. Each kind of target is a driver in a folder of its own
// (native/, vm/, wsl/, engine/), listed in registry.ts; the rest of nslab reaches them through here.
export type {
  ContainerHandoff,
  EngineInfo,
  HandoffSpec,
  ProbeRun,
  Skip,
  SkipReason,
  Target,
  TargetInfo,
  VmProcessInfo,
} from './types.ts';
export type { TargetDriver } from './driver.ts';
export { driverFor, kindsInAll, TARGET_DRIVERS } from './registry.ts';
export { hostKernel, hostModel, hostUname } from './host-facts.ts';
export { NativeTarget, type NativeTargetOptions } from './native/target.ts';
export { ACCESS_FACTS_SCRIPT, decideAccess, parseAccessFacts, type AccessFacts } from './native/access.ts';
export {
  askedNetwork,
  configuredVmBuilder,
  findKeptVm,
  VmTarget,
  type VmTargetOptions,
} from './vm/target.ts';
export {
  addVmOptions,
  bootTimeoutMs,
  createVmTarget,
  formatShowCommand,
  vmTargetOptions,
  type VmCliOptions,
} from './vm/options.ts';
export { WslTarget, wslPrefix, type WslTargetOptions } from './wsl/target.ts';
export { EngineTarget, type EngineTargetOptions } from './engine/target.ts';
