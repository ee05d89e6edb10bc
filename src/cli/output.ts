/**
 * Where the CLI's text leaves the process: everything printed passes through
 * `printable`, so no text from an answer, a file or an argument reaches the terminal as
 * control characters. Line breaks and tabs stay: output is multi-line on purpose.
 */
import { printable } from "../util/printable.ts";

/**
 * A reader that closes the pipe early (`colt workloads | head`) has all it wants: end
 * quietly, as Unix tools do, instead of dying on the unhandled EPIPE.
 */
export function endQuietlyOnClosedPipe(): void {
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
    process.exit(0);
  });
}

export function printOut(text: string): void {
  process.stdout.write(printable(text));
}

export function printErr(text: string): void {
  process.stderr.write(printable(text));
}
