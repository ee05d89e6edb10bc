/**
 * Readable loop-nest pseudo-code: what `colt show` prints and what LLM proposers read.
 * Loop variables keep their stage-qualified names (C.io), the names transformations use.
 */
import { printInt, type IntExpr } from "./int-expr.ts";
import type { LoweredProgram, Stmt } from "./loop-nest.ts";
import { isWeight, type Cond, type Expr } from "./program.ts";

export function printLoopNest(lp: LoweredProgram): string {
  const out: string[] = [];
  const p = lp.program;
  const params = Object.entries(p.params)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
  out.push(`# ${p.name}${params ? ` (${params})` : ""}`);
  for (const b of lp.buffers) {
    if (b.role === "input" || b.role === "output")
      out.push(
        `${b.role} ${b.name}: float32[${b.shape.join(", ")}]${isWeight(p, b.name) ? " (weight)" : ""}`,
      );
  }
  for (const b of lp.buffers) {
    if (b.role === "prepared") out.push(`prepared ${b.name}: float32[${b.shape.join(", ")}]`);
  }
  for (const b of lp.buffers) {
    if (b.role === "temp" || b.role === "pack") {
      out.push(
        `buffer ${b.name}: float32[${b.shape.join(", ")}]${b.perThread ? " (per thread)" : ""}`,
      );
    }
  }
  out.push("");
  const walk = (stmts: readonly Stmt[], depth: number) => {
    const pad = "  ".repeat(depth);
    for (const s of stmts) {
      switch (s.k) {
        case "for": {
          const kind =
            s.kind === "serial"
              ? ""
              : s.kind === "vector"
                ? `vectorized(${s.extent}) `
                : s.chunk !== undefined
                  ? `${s.kind} dynamic(${s.chunk}) `
                  : `${s.kind} `;
          const count = printInt(s.count);
          const range = count === String(s.extent) ? count : `${count}  # at most ${s.extent}`;
          out.push(`${pad}${kind}for ${s.v} in 0..${range}:`);
          walk(s.body, depth + 1);
          break;
        }
        case "if":
          out.push(`${pad}if ${printCond(s.cond)}:`);
          walk(s.body, depth + 1);
          break;
        case "store":
          out.push(
            `${pad}${printStore(s.buf, s.idx, s.value)}${s.streaming ? "  # streaming store" : ""}`,
          );
          break;
        case "prefetch":
          out.push(`${pad}prefetch ${access(s.tensor, s.idx)}${s.l1 ? " into L1" : ""}`);
          break;
        case "alloc": {
          const b = lp.buffers.find((x) => x.name === s.buf);
          if (b?.role === "local") {
            out.push(
              `${pad}local ${b.name}: float32[${b.shape.join(", ")}]${b.registers ? " (registers)" : ""}`,
            );
          }
          break;
        }
        case "comment":
          out.push(`${pad}# ${s.text}`);
          break;
      }
    }
  };
  if (lp.prepare.length > 0) {
    out.push("# prepare: once, before the timed runs (not part of the kernel time)");
    walk(lp.prepare, 0);
    out.push("", "# kernel");
  }
  walk(lp.body, 0);
  return out.join("\n") + "\n";
}

const access = (buf: string, idx: readonly IntExpr[]) =>
  `${buf}[${idx.map((i) => printInt(i)).join(", ")}]`;

function printStore(buf: string, idx: readonly IntExpr[], value: Expr): string {
  const target = access(buf, idx);
  // Show accumulation as `+=` / `max=` when the value combines the target with something.
  if (value.k === "bin" && (value.op === "+" || value.op === "max")) {
    if (value.a.k === "read" && access(value.a.tensor, value.a.idx) === target) {
      return value.op === "+"
        ? `${target} += ${printExpr(value.b)}`
        : `${target} = max(${target}, ${printExpr(value.b)})`;
    }
  }
  return `${target} = ${printExpr(value)}`;
}

export function printExpr(e: Expr): string {
  switch (e.k) {
    case "const":
      return Number.isFinite(e.v) ? String(e.v) : e.v > 0 ? "inf" : "-inf";
    case "read":
      return access(e.tensor, e.idx);
    case "bin":
      return e.op === "min" || e.op === "max"
        ? `${e.op}(${printExpr(e.a)}, ${printExpr(e.b)})`
        : `(${printExpr(e.a)} ${e.op} ${printExpr(e.b)})`;
    case "un":
      return e.op === "neg" ? `-${printExpr(e.a)}` : `${e.op}(${printExpr(e.a)})`;
    case "select":
      return `select(${printCond(e.cond)}, ${printExpr(e.a)}, ${printExpr(e.b)})`;
  }
}

export function printCond(c: Cond): string {
  switch (c.k) {
    case "icmp":
      return `${printInt(c.a)} ${c.op} ${printInt(c.b)}`;
    case "fcmp":
      return `${printExpr(c.a)} ${c.op} ${printExpr(c.b)}`;
    case "and":
      return `(${printCond(c.a)} and ${printCond(c.b)})`;
    case "or":
      return `(${printCond(c.a)} or ${printCond(c.b)})`;
  }
}
