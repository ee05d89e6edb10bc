/**
 * The kind of machine a measurement is valid on: CPU model, target, compiler version and
 * flags, thread count. Jobs are queued per key, so a job never runs on another kind.
 */
import { createHash } from "node:crypto";
import type { Compiler } from "../measure/compiler.ts";

export interface MachineKind {
  readonly cpuModel: string;
  readonly target: string;
  readonly compiler: string;
  readonly flags: readonly string[];
  readonly threads: number;
}

export function machineKind(cpuModel: string, compiler: Compiler, threads: number): MachineKind {
  return {
    cpuModel,
    target: compiler.target.name,
    compiler: compiler.version,
    flags: compiler.flags,
    threads,
  };
}

/** A short stable name of the kind; queue names carry it. */
export function machineKey(kind: MachineKind): string {
  const text = JSON.stringify([
    kind.cpuModel,
    kind.target,
    kind.compiler,
    kind.flags,
    kind.threads,
  ]);
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

export function queueName(key: string): string {
  return `colt-measure-${key}`;
}
