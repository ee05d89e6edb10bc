import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createProgress } from "../../src/cli/progress.ts";
import type { TrialRecord } from "../../src/search/trials.ts";

function stream(tty: boolean) {
  let text = "";
  const s = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  }) as Writable & Record<string, unknown>;
  Object.assign(s, {
    isTTY: tty,
    columns: 120,
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
    clearScreenDown: () => true,
  });
  return { s: s as unknown as NodeJS.WriteStream, text: () => text };
}

const trial = (n: number, ms: number): TrialRecord => ({
  trial: n,
  strategy: "colt",
  model: "offline-expert",
  trace: "",
  status: "ok",
  verified: true,
  ms,
  bestMs: ms,
  elapsedMs: 1,
});

describe("progress", () => {
  it("writes plain lines when stderr is not a terminal", () => {
    const out = stream(false);
    const p = createProgress({ trials: 2, flops: 2e6, enabled: true, stream: out.s, env: {} });
    p.baseline(2);
    p.trial(trial(1, 1));
    p.stop();
    expect(out.text()).toBe(
      "baseline (unscheduled) 2.000 ms\ntrial 1/2  1.000 ms     best 1.000 ms (2.0x, 2.0 GFLOP/s)  by offline-expert\n",
    );
    expect(out.text()).not.toContain("\u001b");
  });

  it("writes nothing when disabled (--quiet, --json)", () => {
    const out = stream(true);
    const p = createProgress({ trials: 2, flops: 2e6, enabled: false, stream: out.s });
    p.baseline(2);
    p.trial(trial(1, 1));
    p.stop();
    expect(out.text()).toBe("");
  });

  it("draws a live bar on a terminal, coloured unless NO_COLOR is set", () => {
    for (const env of [{}, { NO_COLOR: "1" }]) {
      const out = stream(true);
      const p = createProgress({ trials: 2, flops: 2e6, enabled: true, stream: out.s, env });
      p.baseline(2);
      p.trial(trial(1, 1));
      p.iteration({
        iteration: 1,
        model: "offline-lookahead",
        courseAlteration: true,
        replaced: false,
        trace: "",
        childScore: 0,
        parentScore: 0,
        childMs: 1,
        parentMs: 1,
        errors: 0,
      });
      p.stop();
      expect(out.text()).toContain("1/2 trials | best ");
      expect(out.text()).toContain("1 course alteration(s)");
      expect(out.text().includes("\u001b[1m2.0")).toBe(!("NO_COLOR" in env));
    }
  });
});
