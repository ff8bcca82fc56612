// The project's default paths live below every layer (harness/paths.ts), since target drivers use them too.
export * from '../paths.ts';
