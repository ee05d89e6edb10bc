/**
 * `colt tune model.onnx` as the real CLI: the three kinds of test model tuned with a small
 * shared budget, written as one C library, built with its one cc line and matching ONNX
 * Runtime end to end; a re-run starts every task from the database's best schedule.
 */
import { execSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openDb } from "../../src/db/database.ts";
import { getRun } from "../../src/db/records.ts";
import { DEFAULT_TOLERANCE } from "../../src/measure/verify.ts";
import { BIN, colt, startColt } from "../support/cli.ts";
import { HIDE_ORT } from "../support/hide-ort.ts";
import { gpt2Block, llamaBlock, smallCnn } from "../support/onnx-models.ts";
import { calibratedCacheDir } from "../support/calibrated-cache.ts";

const dir = mkdtempSync(join(tmpdir(), "colt-tune-model-"));
const env = {
  COLT_CACHE_DIR: calibratedCacheDir("colt-tune-model-cache-"),
  COLT_DB: join(dir, "colt.db"),
};

interface ModelJson {
  out: string;
  trials: number;
  tasks: {
    name: string;
    sameAs?: string;
    trials: number;
    baselineMs: number;
    bestMs: number;
    ortMs: number | null;
    runs: string[];
  }[];
  endToEnd: { coltMs: number; ortMs: number; error: number } | null;
}

function tuneModel(file: string, out: string, trials = 8): ModelJson {
  const r = colt(
    ["tune", file, "--trials", String(trials), "--min-ms", "5", "--out", out, "--json"],
    env,
    300_000,
  );
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as ModelJson;
}

describe("colt tune model.onnx", () => {
  for (const [name, build] of [
    ["gpt2", gpt2Block],
    ["llama", llamaBlock],
    ["cnn", smallCnn],
  ] as const) {
    it(`${name}: 8 trials shared by the tasks, a library that builds and matches ONNX Runtime`, () => {
      const file = (build as (f: string) => string)(join(dir, `${name}.onnx`));
      const out = join(dir, `${name}-lib`);
      const r = tuneModel(file, out);
      const own = r.tasks.filter((t) => t.sameAs === undefined);
      expect(own.every((t) => t.trials >= 1 && t.runs.length >= 1)).toBe(true);
      expect(own.reduce((n, t) => n + t.trials, 0)).toBe(8);
      expect(r.trials).toBe(8);
      expect(r.tasks.every((t) => t.ortMs !== null && t.bestMs > 0)).toBe(true);
      expect(r.endToEnd?.error).toBeLessThanOrEqual(DEFAULT_TOLERANCE);
      for (const f of [
        "model.h",
        "model.c",
        "model.weights",
        "main.c",
        "tasks.json",
        "report.html",
      ])
        expect(existsSync(join(out, f))).toBe(true);
      const line = readFileSync(join(out, "README.txt"), "utf8")
        .split("\n")
        .find((l) => l.startsWith("cc "));
      expect(line).toBe("cc -O3 -march=native -fopenmp model.c main.c -lm -o run");
      execSync(line as string, { cwd: out, stdio: "pipe" });
      expect(JSON.parse(readFileSync(join(out, "tasks.json"), "utf8")).tasks).toHaveLength(
        r.tasks.length,
      );
    }, 300_000);
  }

  it("a re-run, or another model with the same tasks, starts every task from the database's best", () => {
    const again = tuneModel(join(dir, "gpt2.onnx"), join(dir, "gpt2-again"), 6);
    // Another file with the same block: its tasks are the same programs.
    const other = tuneModel(gpt2Block(join(dir, "other.onnx")), join(dir, "other-lib"), 6);
    const db = openDb(env.COLT_DB);
    try {
      for (const r of [again, other])
        for (const t of r.tasks.filter((x) => x.sameAs === undefined))
          expect(getRun(db, t.runs[0]).settings.reused, t.name).toBeTypeOf("string");
    } finally {
      db.close();
    }
  }, 300_000);

  it("--no-reuse: each task's first round starts from scratch", () => {
    // The same tasks as cnn.onnx above, whose schedules the database knows by now.
    const r = colt(
      [
        "tune",
        smallCnn(join(dir, "fresh.onnx")),
        "--trials",
        "6",
        "--min-ms",
        "5",
        "--no-reuse",
        "--json",
        "--out",
        join(dir, "cnn-fresh"),
      ],
      env,
      300_000,
    );
    expect(r.code, r.stderr).toBe(0);
    const db = openDb(env.COLT_DB);
    try {
      for (const t of (JSON.parse(r.stdout) as ModelJson).tasks)
        expect(getRun(db, t.runs[0]).settings.reused, t.name).toBeUndefined();
    } finally {
      db.close();
    }
  }, 300_000);

  it("colt compare model.onnx: the library of the best known schedules against ONNX Runtime", () => {
    const r = colt(["compare", join(dir, "gpt2.onnx"), "--min-ms", "5", "--json"], env, 120_000);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      error: number;
      coltMs: number;
      ortMs: number;
      tasks: { task: string; source: string }[];
    };
    expect(out.error).toBeLessThanOrEqual(DEFAULT_TOLERANCE);
    expect(out.coltMs).toBeGreaterThan(0);
    expect(out.ortMs).toBeGreaterThan(0);
    expect(out.tasks).toHaveLength(6);
    expect(out.tasks.every((t) => t.source.startsWith("best known"))).toBe(true);
  }, 120_000);

  it("without ONNX Runtime: the library is written and built all the same, with no comparison", () => {
    const file = join(dir, "cnn.onnx");
    const out = join(dir, "cnn-no-ort");
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        HIDE_ORT,
        BIN,
        "tune",
        file,
        "--trials",
        "6",
        "--min-ms",
        "5",
        "--out",
        out,
        "--json",
      ],
      { encoding: "utf8", env: { ...process.env, ...env } },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout) as ModelJson;
    expect(json.endToEnd).toBeNull();
    expect(json.tasks.every((t) => t.ortMs === null)).toBe(true);
    expect(existsSync(join(out, "run"))).toBe(true);
    expect(readFileSync(join(out, "report.html"), "utf8")).toContain(
      "ONNX Runtime is not installed",
    );
  }, 300_000);

  it("SIGINT ends the round under way as interrupted, the rounds before it done", async () => {
    const file = gpt2Block(join(dir, "stopped.onnx"));
    let sent = false;
    const stopped = await startColt(
      ["tune", file, "--trials", "12", "--min-ms", "50", "--out", join(dir, "stopped")],
      env,
      (text, child) => {
        if (!sent && /run \S+\n/.test(text)) {
          sent = true;
          child.kill("SIGINT");
        }
      },
    );
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).not.toMatch(/internal error|\n\s+at /);
    const [, runId] = /colt: SIGINT: run (\S+) interrupted;/.exec(stopped.stderr) ?? [];
    expect(runId).toBeDefined();
    expect(stopped.stderr).toMatch(/colt: to continue it: colt tune .*stopped\.onnx#\S+ --resume /);
    const db = openDb(env.COLT_DB);
    try {
      expect(getRun(db, runId).status).toBe("interrupted");
      const first = /^\S+: \d+ trial\(s\).* run (\S+)$/m.exec(stopped.stderr)?.[1] as string;
      expect(getRun(db, first).status).toBe("done");
    } finally {
      db.close();
    }
  }, 300_000);

  it("refuses a budget smaller than the distinct tasks, and single-task options, in one line", () => {
    const file = join(dir, "cnn.onnx");
    for (const args of [
      ["--trials", "3"],
      ["--resume", "20260101-000000-abcd"],
    ]) {
      const r = colt(["tune", file, ...args], env);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/^colt: .*(distinct tasks|not with a whole model)/);
    }
  });
});
