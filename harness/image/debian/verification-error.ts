/** A downloaded file that is not what the archive's signed indices say: the build stops here. */
export class VerificationError extends Error {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly got: string,
  ) {
    super(`${file}: expected ${expected}, got ${got}`);
    this.name = 'VerificationError';
  }
}
