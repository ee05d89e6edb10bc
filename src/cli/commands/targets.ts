/** `colt targets`: the targets COLT builds for, with the one this machine is marked. */
import type { Command } from "commander";
import { detectTargetName, readHostCpu, resolveTarget } from "../../target/detect.ts";
import { TargetError } from "../../target/errors.ts";
import { TARGETS } from "../../target/targets.ts";
import { printOut } from "../output.ts";

export function registerTargets(program: Command): void {
  program
    .command("targets")
    .description("list the targets (--target NAME) and mark the one this machine is (native)")
    .option("--json", "print one JSON array")
    .action((opts: { json?: boolean }) => {
      const host = readHostCpu();
      // A machine matching no target still lists them all, none marked.
      const detected = orNoTarget(() => detectTargetName(host));
      const rows = TARGETS.map((t) => ({
        name: t.name,
        description: t.description,
        lanes: t.isa.lanes,
        vectorBytes: t.isa.vectorBytes,
        registers: t.isa.registers,
        registerName: t.isa.registerName,
        vectorWidths: t.vectorWidths,
        compiler: t.toolchain.defaultCompiler,
        flags: t.toolchain.archFlags,
        detected: t.name === detected,
        runs: orNoTarget(() => resolveTarget(t.name, host).execution.kind) ?? "no",
      }));
      if (opts.json) {
        printOut(JSON.stringify(rows, null, 2) + "\n");
        return;
      }
      for (const r of rows) {
        const runs =
          r.runs === "native"
            ? "runs here"
            : r.runs === "emulated"
              ? "runs here under qemu: verification only"
              : "does not run here";
        printOut(
          `${r.detected ? "*" : " "} ${r.name.padEnd(13)} ${r.description}; ${r.compiler} ${r.flags.join(" ")}; ${runs}\n`,
        );
      }
      if (detected) printOut(`* native: this machine is ${detected}\n`);
    });
}

/** The value, or undefined when the host cannot build or run for the target. */
function orNoTarget<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (e instanceof TargetError) return undefined;
    throw e;
  }
}
