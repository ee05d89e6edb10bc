/** The system C compiler: which one, its version, and flags that fit this machine. */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CompilerNotFoundError } from "./errors.ts";

export interface Compiler {
  readonly command: string;
  /** First line of `cc --version`: recorded with every result. */
  readonly version: string;
  readonly flags: readonly string[];
  readonly linkFlags: readonly string[];
}

const BASE_FLAGS = ["-O3", "-march=native", "-fopenmp", "-fno-math-errno"];
/** Without it clang splits 64-byte vectors into 256-bit halves (about -40% here). */
const WIDE_VECTORS = "-mprefer-vector-width=512";

const detected = new Map<string, Compiler>();

export function detectCompiler(command: string = process.env.CC || "cc"): Compiler {
  const known = detected.get(command);
  if (known) return known;
  let version: string;
  try {
    version = execFileSync(command, ["--version"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    })
      .split("\n")[0]
      .trim();
  } catch {
    throw new CompilerNotFoundError(command);
  }
  const flags = [...BASE_FLAGS];
  if (accepts(command, [...flags, WIDE_VECTORS])) flags.push(WIDE_VECTORS);
  const compiler: Compiler = { command, version, flags, linkFlags: ["-lm"] };
  detected.set(command, compiler);
  return compiler;
}

function accepts(command: string, flags: readonly string[]): boolean {
  const dir = mkdtempSync(join(tmpdir(), "colt-cc-"));
  try {
    const src = join(dir, "probe.c");
    writeFileSync(src, "int main(void) { return 0; }\n");
    const r = spawnSync(command, [...flags, "-Werror", src, "-o", join(dir, "probe")], {
      stdio: "ignore",
    });
    return r.status === 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
