// vm → target: SSH to the guest, key-only, host key pinned.
export {
  ABORT_GRACE_MS,
  SshSession,
  type SshTarget,
  type ExecResult,
  type ExecOptions,
  type OutputSink,
} from './client.ts';
export { SshCommandError, HostKeyMismatchError } from './errors.ts';
export { SocketForwarder, type StreamOpener } from './forward-socket.ts';
