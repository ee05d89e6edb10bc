/**
 * COLT listens for SIGTERM before it spawns a candidate: otherwise a signal arriving while
 * the spawn returns ends COLT by default and leaves the candidate running (a loaded CI
 * run lost that race in test/measure/process-group.test.ts).
 */
import type { ChildProcess, SpawnOptions } from "node:child_process";
import { describe, expect, it, vi } from "vitest";

/** SIGTERM listeners when each spawn was called. */
const listenersAtSpawn = vi.hoisted(() => [] as number[]);

vi.mock("node:child_process", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:child_process")>();
  return {
    ...real,
    spawn: (command: string, args: readonly string[], options: SpawnOptions): ChildProcess => {
      listenersAtSpawn.push(process.listenerCount("SIGTERM"));
      return real.spawn(command, args, options);
    },
  };
});

const { runBinary } = await import("../../src/measure/run.ts");

describe("a candidate's run", () => {
  it("listens for SIGTERM before the candidate is spawned, and no longer after it ends", async () => {
    const before = process.listenerCount("SIGTERM");
    const r = await runBinary("/bin/true", [], { timeoutMs: 10_000 });
    expect(r.code).toBe(0);
    expect(listenersAtSpawn).toEqual([before + 1]);
    expect(process.listenerCount("SIGTERM")).toBe(before);
  });
});
