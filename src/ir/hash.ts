/** Structural hash of a program: same stages, shapes and expressions give the same hash. */
import { createHash } from "node:crypto";
import type { Program } from "./program.ts";

export function programHash(p: Program): string {
  const canonical = JSON.stringify(
    { inputs: p.inputs, stages: p.stages, outputs: p.outputs },
    (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v),
  );
  return createHash("sha256").update(canonical).digest("hex").slice(0, 32);
}
