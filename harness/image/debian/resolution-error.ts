/** The archive's indices do not hold what the image needs (a package, a dependency, a kernel). */
export class ResolutionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResolutionError';
  }
}
