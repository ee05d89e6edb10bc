/** The system C compiler: which one, its version, and flags that fit this machine. */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CompilerNotFoundError } from "./errors.ts";

export interface Compiler {
  /** As the user gave it, e.g. "ccache gcc": recorded with results and part of cache keys. */
  readonly command: string;
  /** The command split into words: the program to spawn and its leading arguments. */
  readonly argv: readonly string[];
  /** First line of `cc --version`: recorded with every result. */
  readonly version: string;
  readonly flags: readonly string[];
  readonly linkFlags: readonly string[];
}

const BASE_FLAGS = ["-O3", "-march=native", "-fopenmp", "-fno-math-errno"];
/** Without it clang splits 64-byte vectors into 256-bit halves (about -40% here). */
const WIDE_VECTORS = "-mprefer-vector-width=512";

const detected = new Map<string, Compiler>();

/**
 * Splits a compiler command the way make splits `$(CC)` words: on whitespace, without a
 * shell, so `CC="ccache gcc"` runs ccache with gcc as its first argument.
 */
export function compilerArgv(command: string): readonly string[] {
  return command.split(/\s+/).filter((word) => word !== "");
}

export function detectCompiler(command: string = process.env.CC || "cc"): Compiler {
  const known = detected.get(command);
  if (known) return known;
  const argv = compilerArgv(command);
  if (argv.length === 0) throw new CompilerNotFoundError(command);
  let version: string;
  try {
    version = execFileSync(argv[0], [...argv.slice(1), "--version"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    })
      .split("\n")[0]
      .trim();
  } catch {
    throw new CompilerNotFoundError(command);
  }
  const flags = [...BASE_FLAGS];
  if (accepts(argv, [...flags, WIDE_VECTORS])) flags.push(WIDE_VECTORS);
  const compiler: Compiler = { command, argv, version, flags, linkFlags: ["-lm"] };
  detected.set(command, compiler);
  return compiler;
}

/** Runs the compiler synchronously with extra arguments (probes: flags, libraries). */
export function spawnCompilerSync(
  argv: readonly string[],
  args: readonly string[],
): ReturnType<typeof spawnSync> {
  return spawnSync(argv[0], [...argv.slice(1), ...args], { stdio: "ignore" });
}

function accepts(argv: readonly string[], flags: readonly string[]): boolean {
  const dir = mkdtempSync(join(tmpdir(), "colt-cc-"));
  try {
    const src = join(dir, "probe.c");
    writeFileSync(src, "int main(void) { return 0; }\n");
    return (
      spawnCompilerSync(argv, [...flags, "-Werror", src, "-o", join(dir, "probe")]).status === 0
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
