// nslab's public API: load scenarios, pick targets, run, and write reports. The CLI is built on these.
export { ExitCode, NslabError, UsageError, ConfigError, EnvironmentError } from './errors.ts';
export { loadScenarioFile, loadScenarioDir, parseScenarioText } from './scenario/load.ts';
export type { Namespace, TargetKind, KernelIdentity } from './vocabulary.ts';
export type { Scenario, Expectation } from './scenario/types.ts';
export { runScenario, type ScenarioResult, type ScenarioStatus } from './scenario/run.ts';
export type { Observations, SideObservations } from './scenario/observations.ts';
export { NativeTarget, type NativeTargetOptions } from './targets/native.ts';
export type { Target, TargetInfo, Skip, SkipReason } from './targets/types.ts';
export { runAll, type RunOptions, type RunEvent } from './run/run.ts';
export { writeReport, latestRunId } from './report/write.ts';
export { renderHtml } from './report/html.ts';
export type { RunReport, TargetReport } from './report/types.ts';
export { buildImage, validateLinuxkitFile, listImages, pruneImages, type BuiltImage } from './image/index.ts';
export { VmBuilder, StartedVm, BootError } from './vm/vm.ts';
export { VmTarget, type VmTargetOptions } from './targets/vm.ts';
export { SshSession, SshCommandError, HostKeyMismatchError } from './ssh/index.ts';
