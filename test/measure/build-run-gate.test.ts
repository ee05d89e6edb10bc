/** Builds and timed runs on shared cores take turns; builds run side by side. */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BuildRunGate } from "../../src/measure/build-run-gate.ts";
import { MeasurementEngine } from "../../src/measure/engine.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

/** A job that records when it starts and ends, and finishes when `finish` is called. */
function job(log: string[], name: string) {
  let finish = () => undefined as void;
  const done = new Promise<void>((r) => (finish = r));
  return {
    finish,
    run: async () => {
      log.push(`${name} start`);
      await done;
      log.push(`${name} end`);
    },
  };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe("the build/run gate", () => {
  it("runs builds side by side, makes a run wait for them and holds new builds back until it ends", async () => {
    const gate = new BuildRunGate();
    const log: string[] = [];
    const [b1, b2, r, b3] = [job(log, "b1"), job(log, "b2"), job(log, "run"), job(log, "b3")];
    const pending = [gate.build(b1.run), gate.build(b2.run)];
    await settle();
    pending.push(gate.run(r.run));
    await settle();
    pending.push(gate.build(b3.run));
    await settle();
    expect(log).toEqual(["b1 start", "b2 start"]);
    b1.finish();
    await settle();
    expect(log).toEqual(["b1 start", "b2 start", "b1 end"]);
    b2.finish();
    await settle();
    expect(log.slice(3)).toEqual(["b2 end", "run start"]);
    r.finish();
    await settle();
    expect(log.slice(5)).toEqual(["run end", "b3 start"]);
    b3.finish();
    await Promise.all(pending);
  });

  it("refuses overlapping runs: the engine queues them", async () => {
    const gate = new BuildRunGate();
    const r = job([], "run");
    const first = gate.run(r.run);
    await expect(gate.run(async () => undefined)).rejects.toThrow(/must not overlap/);
    r.finish();
    await first;
  });
});

describe.skipIf(cpus().length < 2)("the engine's builds", () => {
  it("run on the cores its timed runs leave free", async () => {
    const opts = freshEvalOptions();
    const dir = mkdtempSync(join(tmpdir(), "colt-cc-"));
    const log = join(dir, "affinity.log");
    const wrapper = join(dir, "cc-wrapper");
    writeFileSync(
      wrapper,
      `#!/bin/sh\ngrep Cpus_allowed_list /proc/self/status >> ${log}\nexec ${opts.compiler.argv.join(" ")} "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
    const engine = new MeasurementEngine({
      ...opts,
      compiler: { ...opts.compiler, argv: [wrapper] },
      threads: 1,
      minMs: 5,
    });
    const m = await engine.measure(
      Schedule.initial(instantiate("matmul", "small", { M: 8, N: 8, K: 8 })),
    );
    expect(m.status).toBe("ok");
    const last = cpus().length - 1;
    const allowed = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split(/\s+/)[1]);
    // The unscheduled candidate is the reference's binary: one build, of its harness and
    // then of its kernel. The runs take the last core.
    expect(allowed).toHaveLength(2);
    for (const list of allowed) expect(list).toBe(last === 1 ? "0" : `0-${last - 1}`);
  });
});
