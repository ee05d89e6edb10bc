/**
 * Hardening of the command line (issue 16): thread counts above the cores, unusable
 * paths, loose --shape values, a compiler command with arguments and a roofline bound
 * that a kernel beats. Each error is one line, exit 1, no stack trace and no hang.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import { detectCompiler } from "../../src/measure/compiler.ts";
import { PROFILE_VERSION, profilePath } from "../../src/measure/profile.ts";
import { detectTargetName } from "../../src/target/detect.ts";
import { colt, type CliResult } from "../support/cli.ts";
import { calibratedCacheDir } from "../support/calibrated-cache.ts";

const cache = calibratedCacheDir("colt-inputs-");
const dbFile = join(cache, "tuning.db");
const env = { COLT_CACHE_DIR: cache, COLT_DB: dbFile };

function expectOneLineError(r: CliResult, ...parts: (string | RegExp)[]): void {
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("");
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^colt: /);
  expect(r.stderr).not.toContain("internal error");
  for (const p of parts) expect(lines[0]).toMatch(p);
}

function runCount(status?: string): number {
  const db = new Database(dbFile, { readonly: true });
  try {
    const row = (
      status === undefined
        ? db.prepare("SELECT count(*) AS n FROM runs").get()
        : db.prepare("SELECT count(*) AS n FROM runs WHERE status = ?").get(status)
    ) as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

describe("--threads", () => {
  const tooMany = String(availableParallelism() + 1);
  it.each([["measure"], ["tune"]])("%s refuses more threads than cores", (command) => {
    const r = colt([command, "matmul", "--threads", tooMany], env);
    expectOneLineError(r, `--threads ${tooMany}`, `${availableParallelism()} core`);
  });
});

describe("paths", () => {
  // A finished run gives report and export something to write.
  let runId = "";
  beforeAll(() => {
    const r = colt(["tune", "matmul", "--trials", "2", "--min-ms", "5", "--json"], env);
    expect(r.code).toBe(0);
    runId = (JSON.parse(r.stdout) as { run: string }).run;
  });

  it.each([
    ["/proc/colt-out", /--out \/proc\/colt-out: cannot create directory/],
    ["/dev/null", /--out \/dev\/null: exists and is not a directory/],
    ["/dev/null/sub", /--out \/dev\/null\/sub: .*not a directory/],
  ])(
    "tune --out %s fails at once and records no run",
    (out, message) => {
      const before = runCount();
      const r = colt(["tune", "matmul", "--trials", "2", "--out", out], env, 20_000);
      expectOneLineError(r, message);
      expect(runCount()).toBe(before);
      expect(runCount("running")).toBe(0);
    },
    30_000,
  );

  it("refuses a cache directory under /proc without spinning", () => {
    const procEnv = { COLT_CACHE_DIR: "/proc/colt-cache", COLT_DB: dbFile };
    for (const args of [
      ["measure", "matmul"],
      ["tune", "matmul", "--trials", "2"],
    ]) {
      const r = colt(args, procEnv, 20_000);
      expectOneLineError(r, /^colt: COLT_CACHE_DIR \/proc\/colt-cache: cannot create directory/);
    }
    expect(runCount("running")).toBe(0);
  }, 60_000);

  it("refuses a directory as --schedule", () => {
    expectOneLineError(
      colt(["measure", "matmul", "--schedule", cache], env),
      `--schedule ${cache}: is a directory`,
    );
  });

  it("refuses a directory as report --out", () => {
    const dir = join(cache, "a-directory");
    mkdirSync(dir);
    expectOneLineError(colt(["report", runId, "--out", dir], env), `--out ${dir}: is a directory`);
  });

  it("refuses a file as export --out", () => {
    const file = join(cache, "a-file");
    writeFileSync(file, "");
    expectOneLineError(
      colt(["export", "matmul", "--out", file], env),
      `--out ${file}: exists and is not a directory`,
    );
  });
});

describe("--shape values", () => {
  // Every form is covered in test/workloads/registry.test.ts; here the CLI's one line.
  it.each([["M=0x10"], ["M=1e3"], [" "], ["__proto__=4"]])(
    "refuses %j, listing the parameters",
    (shape) => {
      expectOneLineError(colt(["show", "matmul", "--shape", shape]), /M, N, K/);
    },
  );

  it("accepts decimal integers", () => {
    const r = colt(["show", "matmul", "--shape", "M=010,N=7"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("# matmul (M=10, N=7, K=64)");
  });
});

describe("CC with arguments", () => {
  it("runs a compiler command of several words without a shell", () => {
    const r = colt(["measure", "matmul", "--min-ms", "5", "--json"], { ...env, CC: "env cc" });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: "ok", verified: true });
  });
});

describe("a kernel faster than its roofline bound", () => {
  it("is reported as a wrong bound, never as more than 100%", () => {
    const dir = mkdtempSync(join(tmpdir(), "colt-slow-profile-"));
    // A calibration that claims a very slow machine: every kernel beats its bound.
    writeFileSync(
      profilePath(dir, detectTargetName()),
      JSON.stringify({
        version: PROFILE_VERSION,
        target: detectTargetName(),
        cpuModel: cpus()[0]?.model ?? "unknown CPU",
        cores: cpus().length,
        compiler: detectCompiler().version,
        peakFlopsPerCore: 1e6,
        bandwidthPerCore: 1e6,
        readBandwidthPerCore: 1e6,
        cacheBytesPerCore: 1024,
        calibratedAt: "",
      }),
    );
    const slowEnv = { COLT_CACHE_DIR: dir, COLT_DB: join(dir, "colt.db") };
    const text = colt(["measure", "matmul", "--min-ms", "5"], slowEnv);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("above the calibrated bound (bound is wrong; recalibrate with");
    expect(text.stdout).not.toMatch(/\d{3,}\.\d% of the roofline/);
    const json = colt(["measure", "matmul", "--min-ms", "5", "--json"], slowEnv);
    expect(JSON.parse(json.stdout)).toMatchObject({ rooflineFraction: null, aboveRoofline: true });
    const tune = colt(["tune", "matmul", "--trials", "2", "--min-ms", "5"], slowEnv);
    expect(tune.code).toBe(0);
    expect(tune.stdout).toContain("above the calibrated bound");
  }, 60_000);
});
