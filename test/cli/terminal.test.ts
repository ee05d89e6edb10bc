/** Text from files and arguments reaches the terminal shown, never as control characters. */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONTROL_CHARACTERS } from "../support/control.ts";
import { BIN, colt } from "../support/cli.ts";
import { calibratedCacheDir } from "../support/calibrated-cache.ts";

const cache = calibratedCacheDir("colt-terminal-");
const env = { COLT_CACHE_DIR: cache };
const TITLE = "\u001b]0;pwned\u0007";

describe("terminal output", () => {
  it("shows the escape sequences of a schedule file instead of sending them", () => {
    const file = join(cache, "esc.sched");
    writeFileSync(file, `# tile it\u001b[2J\nsplit C.i 8 -> io ii${TITLE}\n`);
    const r = colt(["show", "matmul", "--schedule", file], env);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).not.toMatch(CONTROL_CHARACTERS);
    expect(r.stderr).toContain("'ii\\u001b]0;pwned\\u0007' is not a valid loop name");
  });

  it("shows the escape sequences of arguments instead of sending them", () => {
    const r = colt(["show", `mat${TITLE}mul`], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown workload 'mat\\u001b]0;pwned\\u0007mul'");
    const option = colt(["show", "matmul", `--size${TITLE}`], env);
    expect(option.code).not.toBe(0);
    expect(option.stdout + option.stderr).toContain("--size\\u001b]0;pwned\\u0007");
    for (const out of [r.stdout, r.stderr, option.stdout, option.stderr])
      expect(out).not.toMatch(CONTROL_CHARACTERS);
  });
});

describe("a reader that stops early", () => {
  it("ends colt quietly with exit 0 (as in `colt workloads | head -1`)", async () => {
    const child = spawn(process.execPath, [BIN, "workloads"], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    // The reader is gone before colt writes its first line.
    child.stdout.destroy();
    const [code] = (await once(child, "close")) as [number | null];
    expect(stderr).not.toMatch(/EPIPE|internal error/);
    expect(code).toBe(0);
  }, 60_000);
});
