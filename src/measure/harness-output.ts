/** Reading what a harness process leaves behind: its output file and its timing line. */
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureDir } from "../util/paths.ts";

/** A fresh path for one run's `--out` file (the caller removes it). */
export function outputPath(): string {
  const dir = join(tmpdir(), "colt-out");
  ensureDir(dir, "temporary directory");
  return join(dir, `${process.pid}-${Math.random().toString(36).slice(2)}.bin`);
}

/** Raw little-endian fp32 values of a file. */
export function readFloat32(file: string): Float32Array {
  const bytes = readFileSync(file);
  return new Float32Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
}

interface TimingLine {
  readonly times_ms?: unknown;
  readonly prepare_ms?: unknown;
}

/** The last stdout line as the harness's JSON timing line, if it is one. */
function timingLine(stdout: string): TimingLine | undefined {
  const line = stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as TimingLine;
  } catch (e) {
    if (e instanceof SyntaxError) return undefined;
    throw e;
  }
}

/** The per-repetition times of the last stdout line (`{"times_ms":[...]}`), if any. */
export function parseTimes(stdout: string): number[] | undefined {
  const parsed = timingLine(stdout);
  if (!parsed || !Array.isArray(parsed.times_ms) || parsed.times_ms.length === 0) return undefined;
  return parsed.times_ms.map(Number);
}

/** The one-off weight preparation time of the timing line, when the kernel prepares weights. */
export function parsePrepareMs(stdout: string): number | undefined {
  const ms = timingLine(stdout)?.prepare_ms;
  return typeof ms === "number" ? ms : undefined;
}
