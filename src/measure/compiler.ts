/** The C compiler for a target: which one, its version, and the target's flags. */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveTarget } from "../target/detect.ts";
import type { BoundTarget } from "../target/target.ts";
import { COMMON_FLAGS } from "../target/targets.ts";
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
  /** What the binaries are built for, and how they run here. */
  readonly target: BoundTarget;
}

const detected = new Map<string, Compiler>();

/**
 * Splits a compiler command the way make splits `$(CC)` words: on whitespace, without a
 * shell, so `CC="ccache gcc"` runs ccache with gcc as its first argument.
 */
export function compilerArgv(command: string): readonly string[] {
  return command.split(/\s+/).filter((word) => word !== "");
}

/**
 * The compiler for `target` (default: this machine's). `$CC` chooses it for targets
 * that run natively; a cross target uses its cross compiler.
 */
export function detectCompiler(command?: string, target: BoundTarget = resolveTarget()): Compiler {
  const chosen =
    command ??
    (target.execution.kind === "native" ? process.env.CC : undefined) ??
    target.toolchain.defaultCompiler;
  const key = `${target.name}\n${chosen}`;
  const known = detected.get(key);
  if (known) return known;
  const argv = compilerArgv(chosen);
  if (argv.length === 0) throw new CompilerNotFoundError(chosen, target.compilerPackage);
  let version: string;
  try {
    version = execFileSync(argv[0], [...argv.slice(1), "--version"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    })
      .split("\n")[0]
      .trim();
  } catch {
    throw new CompilerNotFoundError(chosen, target.compilerPackage);
  }
  const arch =
    target.execution.kind === "native"
      ? target.toolchain.nativeArchFlags
      : target.toolchain.archFlags;
  const flags = [...COMMON_FLAGS, ...arch];
  for (const optional of target.toolchain.optionalFlags)
    if (accepts(argv, [...flags, optional])) flags.push(optional);
  const compiler: Compiler = { command: chosen, argv, version, flags, linkFlags: ["-lm"], target };
  detected.set(key, compiler);
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
