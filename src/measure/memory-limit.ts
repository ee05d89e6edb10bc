/**
 * The memory a workload's tensors may take, and the check made before anything is built.
 * The default is three quarters of the machine's total memory (or of the cgroup limit, if
 * lower): total rather than free memory because free memory moves from minute to minute
 * and a workload accepted once should be accepted again; the quarter left over is for the
 * system, Node, the compiler and the candidates' workspace.
 */
import { totalmem } from "node:os";
import { tensorBytes } from "../ir/footprint.ts";
import type { Program } from "../ir/program.ts";

export const MAX_MEMORY_ENV = "COLT_MAX_MEMORY";
export const MAX_MEMORY_FLAG = "--max-memory";

export interface MemoryLimit {
  readonly bytes: bigint;
  readonly source: "machine" | "flag" | "env";
}

export class MemorySizeError extends Error {
  constructor(
    readonly text: string,
    readonly origin: string,
  ) {
    super(
      `${origin} must be a size such as 8G, 512M or 1.5T (bytes without a unit), got '${text}'`,
    );
    this.name = "MemorySizeError";
  }
}

export class MemoryLimitError extends Error {
  constructor(
    readonly subject: string,
    readonly needs: bigint,
    readonly limit: MemoryLimit,
  ) {
    const setBy = {
      machine: "set by the machine's memory",
      flag: `set by ${MAX_MEMORY_FLAG}`,
      env: `set by ${MAX_MEMORY_ENV}`,
    }[limit.source];
    super(
      `${subject} needs ${formatBytes(needs)} of tensors; the limit is ${formatBytes(limit.bytes)} (${setBy}; ${MAX_MEMORY_FLAG} or ${MAX_MEMORY_ENV} to change it)`,
    );
    this.name = "MemoryLimitError";
  }
}

const UNITS: Readonly<Record<string, bigint>> = {
  "": 1n,
  K: 1000n,
  M: 1000n ** 2n,
  G: 1000n ** 3n,
  T: 1000n ** 4n,
  P: 1000n ** 5n,
  E: 1000n ** 6n,
};

/** "8G", "512M", "1.5T", "8GB", "123456": decimal units, as sizes are printed. */
export function parseMemorySize(text: string, origin: string): bigint {
  const m = /^\s*(\d+)(?:\.(\d+))?\s*([KMGTPE]?)B?\s*$/i.exec(text);
  if (!m) throw new MemorySizeError(text, origin);
  const fraction = m[2] ?? "";
  const unit = UNITS[m[3].toUpperCase()];
  const bytes = (BigInt(m[1] + fraction) * unit) / 10n ** BigInt(fraction.length);
  if (bytes <= 0n) throw new MemorySizeError(text, origin);
  return bytes;
}

/** Decimal units with one digit ("19.2 GB"), from megabytes to exabytes. */
export function formatBytes(bytes: bigint): string {
  const prefix = [..."EPTG"].find((p) => bytes >= UNITS[p]) ?? "M";
  const [unit, name] = [UNITS[prefix], `${prefix}B`];
  const tenths = (bytes * 10n + unit / 2n) / unit;
  return `${tenths / 10n}.${tenths % 10n} ${name}`;
}

export function machineMemoryLimit(): bigint {
  const cgroup = process.constrainedMemory();
  const total = cgroup > 0 && cgroup < totalmem() ? cgroup : totalmem();
  return (BigInt(Math.floor(total)) * 3n) / 4n;
}

/** The flag wins over the environment, which wins over the machine's memory. */
export function resolveMemoryLimit(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): MemoryLimit {
  if (flag !== undefined) return { bytes: parseMemorySize(flag, MAX_MEMORY_FLAG), source: "flag" };
  const fromEnv = env[MAX_MEMORY_ENV];
  if (fromEnv !== undefined && fromEnv !== "")
    return { bytes: parseMemorySize(fromEnv, MAX_MEMORY_ENV), source: "env" };
  return { bytes: machineMemoryLimit(), source: "machine" };
}

/** Refuses a program whose tensors do not fit; cheap (no allocation), so callers check first. */
export function checkMemory(program: Program, limit: MemoryLimit): void {
  const needs = tensorBytes(program);
  if (needs > limit.bytes) throw new MemoryLimitError(describe(program), needs, limit);
}

function describe(p: Program): string {
  const shape = Object.entries(p.params)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return shape ? `${p.name} ${shape}` : p.name;
}
