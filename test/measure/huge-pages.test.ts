import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generateC } from "../../src/codegen/generate.ts";
import { buildBinary } from "../../src/measure/build.ts";
import { withHugePages } from "../../src/measure/huge-pages.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

const THP = "/sys/kernel/mm/transparent_hugepage/enabled";
/** Huge pages on request: the kernel's "madvise" or "always" mode. */
const thpOnRequest = existsSync(THP) && !readFileSync(THP, "utf8").includes("[never]");

/** The largest AnonHugePages a process showed while it ran, in KiB. */
function hugePagesWhileRunning(binary: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ["--seed", "1"], { stdio: "ignore" });
    let most = 0;
    const poll = setInterval(() => {
      try {
        const rollup = readFileSync(`/proc/${child.pid}/smaps_rollup`, "utf8");
        most = Math.max(most, Number(/AnonHugePages:\s+(\d+)/.exec(rollup)?.[1] ?? 0));
      } catch {
        // The process has just ended; its exit event follows.
      }
    }, 10);
    child.on("error", reject);
    child.on("exit", () => {
      clearInterval(poll);
      resolve(most);
    });
  });
}

describe("huge pages for timed programs", () => {
  it("adds glibc's huge-page tunable and keeps the tunables already set", () => {
    expect(withHugePages({}).GLIBC_TUNABLES).toBe("glibc.malloc.hugetlb=1");
    const env = withHugePages({
      PATH: "/bin",
      GLIBC_TUNABLES: "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=0",
    });
    expect(env.GLIBC_TUNABLES).toBe("glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1");
    expect(env.PATH).toBe("/bin");
  });

  it.runIf(thpOnRequest)(
    "backs a candidate's large buffers with huge pages in the harness",
    async () => {
      // 16 MiB per operand; the unscheduled product runs long enough to be watched.
      const program = instantiate("matmul", "small", { M: 2048, N: 2048, K: 512 });
      const source = generateC(Schedule.initial(program).lower()).source;
      const opts = freshEvalOptions();
      const { binary } = await buildBinary(source, opts.compiler, { cacheDir: opts.cacheDir });
      expect(await hugePagesWhileRunning(binary)).toBeGreaterThanOrEqual(2048);
    },
    60_000,
  );
});
