import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { KERNEL_NAME } from "../../src/codegen/c-kernel.ts";
import { generateC } from "../../src/codegen/generate.ts";
import { buildBinary } from "../../src/measure/build.ts";
import { runFailure } from "../../src/measure/classify.ts";
import { MeasurementEngine } from "../../src/measure/engine.ts";
import { runBinary } from "../../src/measure/run.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

/** Forks a grandchild that sleeps 30 s (after setsid in "setsid" mode), prints its pid, exits. */
const FORKER = `
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "fork";
  pid_t pid = fork();
  if (pid == 0) {
    if (!strcmp(mode, "setsid")) setsid();
    sleep(30);
    return 0;
  }
  printf("%d\\n", (int)pid);
  fflush(stdout);
  if (!strcmp(mode, "hang")) sleep(30);
  return 0;
}
`;

/**
 * Writes its pid to the file it is given, then sleeps. The pid goes to a side file renamed
 * into place, so a reader that sees the file sees the whole pid (an empty file read between
 * fopen and fclose once made a CI run fail).
 */
const SLEEPER = `
#include <stdio.h>
#include <unistd.h>
int main(int argc, char** argv) {
  char part[4096];
  snprintf(part, sizeof part, "%s.part", argv[1]);
  FILE* f = fopen(part, "w");
  fprintf(f, "%d", (int)getpid());
  fclose(f);
  rename(part, argv[1]);
  sleep(30);
  return 0;
}
`;

const RUN_ONE = fileURLToPath(new URL("./fixtures/run-one.ts", import.meta.url));

const SPIN = "int main(void) { for (volatile unsigned long i = 0; ; i++) {} }\n";

const opts = freshEvalOptions();

async function build(source: string): Promise<string> {
  return (await buildBinary(source, opts.compiler, { cacheDir: opts.cacheDir })).binary;
}

/** Alive and not a zombie (a container's init may be slow to reap what it adopted). */
function alive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  const state = readFileSync(stat, "utf8").split(") ")[1]?.[0];
  return state !== undefined && state !== "Z";
}

/**
 * A killed process needs the CPU once more to exit; on a loaded machine that can take a
 * while (once over 10 s in a full CI run). Up to 20 s: the processes these tests start
 * sleep 30 s, so one that was never killed is still caught.
 */
async function expectGone(pid: number): Promise<void> {
  for (let i = 0; i < 400 && alive(pid); i++) await sleep(50);
  expect(alive(pid)).toBe(false);
}

describe("runs in their own process group", () => {
  it("ends when the candidate exits, though a forked grandchild holds its pipes", async () => {
    const r = await runBinary(await build(FORKER), ["fork"], { timeoutMs: 20_000 });
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(10_000);
    await expectGone(Number(r.stdout.trim()));
  });

  it("kills a grandchild that left the group with setsid", async () => {
    const r = await runBinary(await build(FORKER), ["setsid"], { timeoutMs: 20_000 });
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(10_000);
    await expectGone(Number(r.stdout.trim()));
  });

  it("kills the whole group on timeout", async () => {
    const r = await runBinary(await build(FORKER), ["hang"], { timeoutMs: 1000 });
    expect(r.timedOut).toBe(true);
    expect(r.ms).toBeLessThan(10_000);
    await expectGone(Number(r.stdout.trim()));
  });

  it("stops a candidate at its CPU time limit even when the wall-clock timer is far", async () => {
    const r = await runBinary(await build(SPIN), [], {
      timeoutMs: 120_000,
      limits: { addressSpaceBytes: 1n << 30n, cpuSeconds: 1 },
    });
    expect(r.signal).toBe("SIGXCPU");
    expect(runFailure(r, 120_000)?.failure).toBe("timeout");
  });

  it("measures a kernel that forks a sleeping grandchild, within its limit, leaving nothing behind", async () => {
    const program = instantiate("matmul", "small", { M: 8, N: 8, K: 8 });
    const pidFile = join(tmpdir(), `colt-grandchild-${process.pid}`);
    rmSync(pidFile, { force: true });
    const kernel = generateC(Schedule.initial(program).lower()).source;
    const source = `#include <stdio.h>\n#include <unistd.h>\n${kernel}`.replace(
      new RegExp(`(void ${KERNEL_NAME}\\([^)]*\\) \\{)`),
      `$1
  static int forked = 0;
  if (!forked) {
    forked = 1;
    pid_t pid = fork();
    if (pid == 0) { sleep(30); _exit(0); }
    FILE* f = fopen("${pidFile}", "w");
    fprintf(f, "%d", (int)pid);
    fclose(f);
  }`,
    );
    const engine = new MeasurementEngine({ ...opts, minMs: 5, runTimeoutMs: 20_000 });
    const m = await engine.measureSource(program, source);
    expect(m.status).toBe("ok");
    expect(m.runMs).toBeLessThan(10_000);
    await expectGone(Number(readFileSync(pidFile, "utf8")));
    rmSync(pidFile, { force: true });
  });

  it("kills its runs when COLT itself is terminated", async () => {
    const pidFile = join(tmpdir(), `colt-sleeper-${process.pid}`);
    rmSync(pidFile, { force: true });
    const colt = spawn(
      process.execPath,
      ["--import", "tsx", RUN_ONE, await build(SLEEPER), pidFile],
      { stdio: "inherit" },
    );
    for (let i = 0; i < 400 && !existsSync(pidFile); i++) await sleep(50);
    const pid = Number(readFileSync(pidFile, "utf8"));
    expect(alive(pid)).toBe(true);
    colt.kill("SIGTERM");
    const [, signal] = (await once(colt, "exit")) as [number | null, NodeJS.Signals | null];
    expect(signal).toBe("SIGTERM");
    await expectGone(pid);
    rmSync(pidFile, { force: true });
  });
});
