// vm → target: SSH to the guest, key-only, host key pinned.
export { SshSession, type SshTarget, type ExecResult, type ExecOptions, type OutputSink } from './client.ts';
export { SshCommandError, HostKeyMismatchError } from './errors.ts';
