/**
 * Where the CLI's text leaves the process: everything printed passes through
 * `printable`, so no text from an answer, a file or an argument reaches the terminal as
 * control characters. Line breaks and tabs stay: output is multi-line on purpose.
 */
import { printable } from "../util/printable.ts";

export function printOut(text: string): void {
  process.stdout.write(printable(text));
}

export function printErr(text: string): void {
  process.stderr.write(printable(text));
}
