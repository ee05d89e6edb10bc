/**
 * The workload library: every operator and model layer COLT can tune, by name, with a
 * small (tests, quick runs) and a paper (real model dimensions) shape, and the parsing of
 * `--shape` overrides such as "M=1000,N=4095,K=333".
 */
import type { Program } from "../ir/program.ts";
import { ShapeError, UnknownWorkloadError } from "./errors.ts";
import { deepseekMoe } from "./layers/deepseek-moe.ts";
import { fluxAttention, llama3Attention } from "./layers/attention.ts";
import { fluxConv } from "./layers/flux-conv.ts";
import { llama4ScoutMlp } from "./layers/llama4-scout-mlp.ts";
import { conv2d } from "./operators/conv2d.ts";
import { batchMatmul, batchMatmulNT, matmul } from "./operators/matmul.ts";
import { layernorm, rmsnorm } from "./operators/norms.ts";
import { softmax } from "./operators/softmax.ts";
import { SIZE_NAMES, type SizeName, type WorkloadDef } from "./workload-def.ts";

export { ShapeError, UnknownWorkloadError } from "./errors.ts";
export { SIZE_NAMES, type ShapeParams, type SizeName, type WorkloadDef } from "./workload-def.ts";

const WORKLOADS: readonly WorkloadDef[] = [
  matmul,
  batchMatmul,
  batchMatmulNT,
  conv2d,
  softmax,
  rmsnorm,
  layernorm,
  llama3Attention,
  deepseekMoe,
  fluxAttention,
  fluxConv,
  llama4ScoutMlp,
];

const BY_NAME = new Map(WORKLOADS.map((w) => [w.name, w]));

/** Operators first, then layers, in a fixed order. */
export function listWorkloads(): readonly WorkloadDef[] {
  return WORKLOADS;
}

/** The model layers (attention, MLP, MoE, conv): what the benches compare strategies on. */
export function layerNames(): string[] {
  return WORKLOADS.filter((w) => w.kind === "layer").map((w) => w.name);
}

export function getWorkload(name: string): WorkloadDef {
  const def = BY_NAME.get(name);
  if (!def) throw new UnknownWorkloadError(name, [...BY_NAME.keys()]);
  return def;
}

/** Largest accepted extent: generated C indexes with 32-bit ints. */
const MAX_EXTENT = 2 ** 31 - 1;

/**
 * Parses "M=1000,N=4095,K=333" (spaces allowed around names, values and commas). Values
 * are decimal digits only: "0x10" or "1e3" are refused rather than read as 16 or 1000.
 * `hint` (the valid parameters) ends every error message.
 */
export function parseShapeOverrides(text: string, hint = ""): Record<string, number> {
  const fail = (message: string) => new ShapeError(hint ? `${message}; ${hint}` : message);
  const entries: [string, number][] = [];
  if (text.trim() === "") return {};
  for (const rawPart of text.split(",")) {
    const part = rawPart.trim();
    const where = `in shape '${text}'`;
    if (part === "") throw fail(`empty entry ${where}; expected NAME=VALUE[,NAME=VALUE...]`);
    const eq = part.indexOf("=");
    if (eq < 0) throw fail(`'${part}' ${where} is not NAME=VALUE`);
    const name = part.slice(0, eq).trim();
    const valueText = part.slice(eq + 1).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw fail(`'${name}' ${where} is not a parameter name`);
    }
    if (entries.some(([known]) => known === name))
      throw fail(`parameter '${name}' is given twice ${where}`);
    const problem = extentProblem(valueText);
    if (problem) throw fail(`value '${valueText}' of ${name} ${where} ${problem}`);
    entries.push([name, Number(valueText)]);
  }
  // fromEntries makes "__proto__" an own key, which instantiate then refuses by name.
  return Object.fromEntries(entries);
}

function extentProblem(valueText: string): string | undefined {
  if (!/^[0-9]+$/.test(valueText)) return "is not a positive decimal integer";
  const value = Number(valueText);
  if (value <= 0) return "must be positive";
  if (value > MAX_EXTENT) return `exceeds ${MAX_EXTENT}`;
  return undefined;
}

/** Builds a workload at a named size with a `--shape` text; errors list its parameters. */
export function instantiateShape(name: string, size: SizeName, shape?: string): Program {
  const params = Object.keys(getWorkload(name).sizes[size]);
  const hint = `parameters of ${name}: ${params.join(", ")}`;
  if (shape !== undefined && shape.trim() === "")
    throw new ShapeError(`empty shape; expected NAME=VALUE[,NAME=VALUE...]; ${hint}`);
  return instantiate(name, size, parseShapeOverrides(shape ?? "", hint));
}

/** Builds a workload at a named size, with some parameters overridden. */
export function instantiate(
  name: string,
  size: SizeName,
  overrides: Record<string, number> = {},
): Program {
  const def = getWorkload(name);
  if (!SIZE_NAMES.includes(size)) {
    throw new ShapeError(`unknown size '${size}'; sizes are ${SIZE_NAMES.join(", ")}`);
  }
  const base = def.sizes[size];
  const valid = Object.keys(base);
  for (const [param, value] of Object.entries(overrides)) {
    if (!Object.hasOwn(base, param)) {
      throw new ShapeError(
        `workload '${name}' has no parameter '${param}'; its parameters are ${valid.join(", ")}`,
      );
    }
    if (!Number.isInteger(value) || value <= 0 || value > MAX_EXTENT) {
      throw new ShapeError(`parameter ${param}=${value} of '${name}' must be a positive integer`);
    }
  }
  return def.build({ ...base, ...overrides });
}
