/** What an action hands back to main(): the exit code. Its own file so that commands need not import main.ts. */
export interface CliState {
  exitCode: number;
}
