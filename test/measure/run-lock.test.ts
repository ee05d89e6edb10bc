import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildBinary } from "../../src/measure/build.ts";
import { MeasurementEngine } from "../../src/measure/engine.ts";
import { withMeasurementLock } from "../../src/measure/run-lock.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

const LOCK_USER = fileURLToPath(new URL("./fixtures/lock-user.ts", import.meta.url));

/** Prints its start and end on the wall clock (ms), 300 ms apart. */
const TIMED = `
#include <stdio.h>
#include <time.h>
static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_REALTIME, &t); return t.tv_sec * 1e3 + t.tv_nsec * 1e-6; }
int main(void) {
  double start = now_ms();
  struct timespec pause = { 0, 300000000 };
  nanosleep(&pause, NULL);
  printf("%.3f %.3f\\n", start, now_ms());
  return 0;
}
`;

function lockUser(...args: string[]): ChildProcess {
  return spawn(process.execPath, ["--expose-gc", "--import", "tsx", LOCK_USER, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
}

async function output(child: ChildProcess): Promise<string> {
  let text = "";
  child.stdout!.on("data", (d: Buffer) => (text += d.toString()));
  const [code] = (await once(child, "close")) as [number | null];
  expect(code).toBe(0);
  return text;
}

async function firstLine(child: ChildProcess): Promise<string> {
  const [data] = (await once(child.stdout!, "data")) as [Buffer];
  return data.toString().trim();
}

describe("measurements of different processes take turns", () => {
  it("two processes' timed runs never overlap", async () => {
    const opts = freshEvalOptions();
    const { binary } = await buildBinary(TIMED, opts.compiler, { cacheDir: opts.cacheDir });
    const [a, b] = await Promise.all(
      [0, 1].map(() => output(lockUser("runs", opts.cacheDir, binary, "3"))),
    );
    const intervals = `${a}${b}`
      .trim()
      .split("\n")
      .map((line) => line.split(" ").map(Number))
      .sort((x, y) => x[0] - y[0]);
    expect(intervals).toHaveLength(6);
    for (let i = 1; i < intervals.length; i++) {
      expect(intervals[i][0]).toBeGreaterThanOrEqual(intervals[i - 1][1]);
    }
  });

  it("a holder keeps the lock through a garbage collection, and killed with SIGKILL does not block the next one", async () => {
    const { cacheDir } = freshEvalOptions();
    const holder = lockUser("hold", cacheDir);
    expect(await firstLine(holder)).toBe("locked");
    let acquired = false;
    const waiting = withMeasurementLock(cacheDir, async () => {
      acquired = true;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(acquired).toBe(false);
    holder.kill("SIGKILL");
    await waiting;
    expect(acquired).toBe(true);
  });

  it("the engine builds while another holds the lock, and runs once it is free", async () => {
    const opts = freshEvalOptions();
    const engine = new MeasurementEngine({ ...opts, minMs: 5, runTimeoutMs: 20_000 });
    const program = instantiate("matmul", "small", { M: 8, N: 8, K: 8 });
    let release = () => undefined as void;
    const held = new Promise<void>((r) => (release = r));
    let locked = () => undefined as void;
    const lockTaken = new Promise<void>((r) => (locked = r));
    const holding = withMeasurementLock(opts.cacheDir, () => {
      locked();
      return held;
    });
    await lockTaken;
    let done = false;
    const measuring = engine.measure(Schedule.initial(program)).then((m) => {
      done = true;
      return m;
    });
    // The candidate's and the reference's builds go ahead; their runs wait.
    for (let i = 0; i < 600 && !existsSync(join(opts.cacheDir, "bin")); i++)
      await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1000));
    expect(done).toBe(false);
    release();
    await holding;
    expect((await measuring).status).toBe("ok");
  });
});
