/** Workspace slices: reused once their value is dead, never while a reader has yet to run. */
import { describe, expect, it } from "vitest";
import { Workspace } from "../../src/library/workspace.ts";

describe("the intermediates' workspace", () => {
  it("reuses the slice of a value whose last reader has run, first fit, 64-byte aligned", () => {
    const w = new Workspace();
    expect(w.place(0, 100, 1)).toBe(0); // 112 floats, read by task 1
    expect(w.place(1, 10, 3)).toBe(112); // task 1 still reads the first value
    expect(w.place(2, 50, 4)).toBe(0); // the first value is dead after task 1
    expect(w.place(3, 70, 4)).toBe(128); // too big for the gap 64..112, task 3 reads 112
    expect(w.floats).toBe(208);
  });

  it("keeps a value read later alive across the tasks in between", () => {
    const w = new Workspace();
    w.place(0, 16, 5);
    for (let t = 1; t < 5; t++) expect(w.place(t, 16, t + 1)).not.toBe(0);
  });
});
