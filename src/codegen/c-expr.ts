/**
 * C emission of value expressions, scalar or SIMD. Vectors use GCC/Clang vector
 * extensions (explicit SIMD, no intrinsics). A scalar mixed with a vector in +,-,*,/
 * is left to the compiler, which broadcasts it for free (a*b becomes a broadcast FMA);
 * explicit broadcasts use -0.0 + x, which compilers fold without -ffast-math.
 */
import {
  coefficientOf,
  freeVars,
  intConst,
  printInt,
  simplify,
  substitute,
  type IntExpr,
} from "../ir/int-expr.ts";
import type { Cond, Expr, UnaryOp } from "../ir/program.ts";
import { maskType, vecType } from "../target/gnu-vectors.ts";

export interface VectorContext {
  /** The vectorized loop variable (C name already resolved by the caller). */
  readonly v: string;
  readonly lanes: number;
}

export interface Emitted {
  readonly code: string;
  readonly vec: boolean;
}

/** What the expression emitter needs to know about buffers and names. */
export interface ExprEnv {
  /** C name of a loop variable. */
  intVar(name: string): string;
  /** Substitutes the constant values of unrolled loop variables. */
  resolve(e: IntExpr): IntExpr;
  /** C code of a buffer element at `idx`, scalar or (when vec) a vector of lanes. */
  load(buffer: string, idx: readonly IntExpr[], vec: VectorContext | undefined): Emitted;
  /** Records which vector helpers the emitted code uses. */
  useHelper(name: string): void;
  /** The C name of a scalar computed before the enclosing loop, if `e` is one. */
  hoisted?(e: Expr): string | undefined;
}

export function floatLiteral(v: number): string {
  if (v === Infinity) return "INFINITY";
  if (v === -Infinity) return "(-INFINITY)";
  if (Number.isNaN(v)) return "NAN";
  // Integers from 1e21 print in exponent form, which takes no ".0".
  const s = Number.isInteger(v) && Math.abs(v) < 1e21 ? `${v}.0` : String(Math.fround(v));
  return v < 0 ? `(${s}f)` : `${s}f`;
}

export function intCode(e: IntExpr, env: ExprEnv): string {
  return printInt(simplify(env.resolve(e)), (n) => env.intVar(n), "colt_imin");
}

/** True when `e` depends on the vectorized loop. */
export function dependsOn(e: IntExpr, v: string): boolean {
  return freeVars(e).has(v);
}

export function broadcast(x: Emitted, lanes: number): string {
  return x.vec ? x.code : `(-(${vecType(lanes)}){} + ${x.code})`;
}

/**
 * How every generated helper is declared: always inlined, since GCC's inliner stops
 * inlining the vector exp once the kernel grows (a pipelined softmax has four copies of
 * its loop body: exp became a call, 47% of the time, 7.4 -> 8.8 ms).
 */
export const INLINE = "static inline __attribute__((always_inline))";

const SCALAR_UNARY: Record<UnaryOp, (a: string) => string> = {
  neg: (a) => `(-${a})`,
  exp: (a) => `expf(${a})`,
  log: (a) => `logf(${a})`,
  sqrt: (a) => `sqrtf(${a})`,
  rsqrt: (a) => `(1.0f / sqrtf(${a}))`,
  tanh: (a) => `tanhf(${a})`,
  sigmoid: (a) => `(1.0f / (1.0f + expf(-${a})))`,
  abs: (a) => `fabsf(${a})`,
};

export function emitExpr(
  e: Expr,
  env: ExprEnv,
  vec: VectorContext | undefined,
  vecVar?: string,
): Emitted {
  const go = (x: Expr): Emitted => emitExpr(x, env, vec, vecVar);
  const hoisted = env.hoisted?.(e);
  if (hoisted !== undefined) return { code: hoisted, vec: false };
  switch (e.k) {
    case "const":
      return { code: floatLiteral(e.v), vec: false };
    case "read":
      return env.load(
        e.tensor,
        e.idx,
        vec && vecVar && e.idx.some((i) => dependsOn(i, vecVar)) ? vec : undefined,
      );
    case "bin": {
      const a = go(e.a);
      const b = go(e.b);
      if (!vec || (!a.vec && !b.vec)) {
        // Inline compares: fminf/fmaxf stay library calls without -ffinite-math-only.
        if (e.op === "min") return { code: `colt_fmin(${a.code}, ${b.code})`, vec: false };
        if (e.op === "max") return { code: `colt_fmax(${a.code}, ${b.code})`, vec: false };
        return { code: `(${a.code} ${e.op} ${b.code})`, vec: false };
      }
      if (e.op === "min" || e.op === "max") {
        const helper = `colt_${e.op}_v${vec.lanes}`;
        env.useHelper(helper);
        return {
          code: `${helper}(${broadcast(a, vec.lanes)}, ${broadcast(b, vec.lanes)})`,
          vec: true,
        };
      }
      // A vector divided by a scalar (softmax's row sum) multiplies by its reciprocal,
      // which the compiler hoists: one scalar divide per row, not a vector divide per vector.
      if (e.op === "/" && !b.vec) return { code: `(${a.code} * (1.0f / ${b.code}))`, vec: true };
      return { code: `(${a.code} ${e.op} ${b.code})`, vec: true };
    }
    case "un": {
      const a = go(e.a);
      if (!a.vec || !vec) return { code: SCALAR_UNARY[e.op](a.code), vec: false };
      if (e.op === "neg") return { code: `(-${a.code})`, vec: true };
      const helper = `colt_${e.op}_v${vec.lanes}`;
      env.useHelper(helper);
      return { code: `${helper}(${a.code})`, vec: true };
    }
    case "select": {
      const c = emitCond(e.cond, env, vec, vecVar);
      const a = go(e.a);
      const b = go(e.b);
      if (!vec || (!c.vec && !a.vec && !b.vec))
        return { code: `(${c.code} ? ${a.code} : ${b.code})`, vec: false };
      const helper = `colt_select_v${vec.lanes}`;
      env.useHelper(helper);
      const mask = c.vec ? c.code : `((${maskType(vec.lanes)}){} - (int)(${c.code}))`;
      return {
        code: `${helper}(${mask}, ${broadcast(a, vec.lanes)}, ${broadcast(b, vec.lanes)})`,
        vec: true,
      };
    }
  }
}

/** Conditions: a C int in scalar code, a lane mask (-1/0 per lane) when vectorized. */
export function emitCond(
  c: Cond,
  env: ExprEnv,
  vec: VectorContext | undefined,
  vecVar?: string,
): Emitted {
  switch (c.k) {
    case "icmp": {
      const dep = vec && vecVar && (dependsOn(c.a, vecVar) || dependsOn(c.b, vecVar));
      if (!dep || !vec || !vecVar)
        return { code: `(${intCode(c.a, env)} ${c.op} ${intCode(c.b, env)})`, vec: false };
      const side = (x: IntExpr) => laneInts(x, vecVar, vec, env);
      return { code: `(${side(c.a)} ${c.op} ${side(c.b)})`, vec: true };
    }
    case "fcmp": {
      const a = emitExpr(c.a, env, vec, vecVar);
      const b = emitExpr(c.b, env, vec, vecVar);
      if (!vec || (!a.vec && !b.vec)) return { code: `(${a.code} ${c.op} ${b.code})`, vec: false };
      return { code: `(${broadcast(a, vec.lanes)} ${c.op} ${broadcast(b, vec.lanes)})`, vec: true };
    }
    case "and":
    case "or": {
      const a = emitCond(c.a, env, vec, vecVar);
      const b = emitCond(c.b, env, vec, vecVar);
      if (!a.vec && !b.vec)
        return { code: `(${a.code} ${c.k === "and" ? "&&" : "||"} ${b.code})`, vec: false };
      const lanes = vec!.lanes;
      const m = (x: Emitted) => (x.vec ? x.code : `((${maskType(lanes)}){} - (int)(${x.code}))`);
      return { code: `(${m(a)} ${c.k === "and" ? "&" : "|"} ${m(b)})`, vec: true };
    }
  }
}

/** Per-lane integer values of an index expression affine in the vector loop. */
function laneInts(x: IntExpr, v: string, vec: VectorContext, env: ExprEnv): string {
  const coef = coefficientOf(x, v);
  if (coef === null)
    throw new Error(`codegen: index ${printInt(x)} is not affine in vector loop ${v}`);
  const base = intCode(substitute(x, new Map([[v, intConst(0)]])), env);
  if (coef === 0) return `((${maskType(vec.lanes)}){} + (int)(${base}))`;
  const lanes = Array.from({ length: vec.lanes }, (_, l) => l * coef).join(", ");
  return `((${maskType(vec.lanes)}){${lanes}} + (int)(${base}))`;
}

/** Definitions of the vector helpers that emitted code used. */
export function helperDefinitions(used: ReadonlySet<string>): string {
  const out: string[] = [];
  for (const name of [...used].sort()) {
    const m = /^colt_(\w+)_v(\d+)$/.exec(name);
    if (!m) continue;
    const [, op, lanesText] = m;
    const lanes = Number(lanesText);
    const V = vecType(lanes);
    const M = maskType(lanes);
    if (op === "min" || op === "max") {
      const cmp = op === "min" ? "<" : ">";
      out.push(
        withX86MinMax(
          op,
          lanes,
          `${INLINE} ${V} ${name}(${V} a, ${V} b) { ${M} m = a ${cmp} b; return (${V})((m & (${M})a) | (~m & (${M})b)); }`,
        ),
      );
    } else if (op === "select") {
      out.push(
        `${INLINE} ${V} ${name}(${M} m, ${V} a, ${V} b) { return (${V})((m & (${M})a) | (~m & (${M})b)); }`,
      );
    } else if (op === "exp" || op === "sigmoid" || op === "tanh") {
      out.push(vectorExp(lanes));
      const exp = `colt_vexp_v${lanes}`;
      if (op === "sigmoid")
        out.push(`${INLINE} ${V} ${name}(${V} x) { return 1.0f / (1.0f + ${exp}(-x)); }`);
      if (op === "tanh")
        out.push(`${INLINE} ${V} ${name}(${V} x) { return 1.0f - 2.0f / (1.0f + ${exp}(x + x)); }`);
      if (op === "exp") out.push(`${INLINE} ${V} ${name}(${V} x) { return ${exp}(x); }`);
    } else if (op === "abs") {
      out.push(`${INLINE} ${V} ${name}(${V} x) { return (${V})((${M})x & 0x7fffffff); }`);
    } else {
      const scalar = SCALAR_UNARY[op as UnaryOp];
      out.push(
        `${INLINE} ${V} ${name}(${V} x) { ${V} r; for (int l = 0; l < ${lanes}; l++) r[l] = ${scalar("x[l]")}; return r; }`,
      );
    }
  }
  return [...new Set(out)].join("\n");
}

/**
 * The min or max helper as x86's own instruction where the target has it for these lanes
 * (`vmaxps` is `a > b ? a : b` lane by lane, NaN and signed zeros included, as the generic
 * form), else the generic compare-and-blend: GCC does not see the blend of an integer
 * reinterpretation as a max, and loaded each operand twice (softmax's row maximum).
 */
function withX86MinMax(op: "min" | "max", lanes: number, generic: string): string {
  const isa =
    lanes === 16
      ? { macro: "__AVX512F__", prefix: "_mm512", type: "__m512" }
      : lanes === 8
        ? { macro: "__AVX__", prefix: "_mm256", type: "__m256" }
        : undefined;
  if (isa === undefined) return generic;
  const V = vecType(lanes);
  return [
    `#if defined(${isa.macro})`,
    "#include <immintrin.h>",
    `${INLINE} ${V} colt_${op}_v${lanes}(${V} a, ${V} b) { return (${V})${isa.prefix}_${op}_ps((${isa.type})a, (${isa.type})b); }`,
    "#else",
    generic,
    "#endif",
  ].join("\n");
}

/**
 * exp on whole vectors: x = n·ln2 + r with n = round(x·log2 e), e^r as a degree-5
 * polynomial in r (a near-minimax fit on |r| <= ln2/2, relative error 1.1e-7) in five
 * multiply-adds (Horner: fewer operations than an Estrin square), then scaled by 2^n;
 * within 4 ulp of expf. Arguments above 88.72 give +inf; below -86.98 (and -inf), where exp
 * is under 2^-125.5 (twice the smallest normal float), 0.
 * Few operations on purpose: softmax at paper size is bound by this exp as much as by
 * memory (Cephes' degree-7 form took a fifth more time per element). A lane-by-lane expf
 * call is slower than scalar code. With AVX-512, 16 lanes round with one instruction and
 * scale by 2^n with `vscalefps`, whose masked form also gives the 0 below the range and
 * whose overflow gives the +inf: 12 operations instead of 18 (on a core that runs 512-bit
 * operations as two halves, softmax's exp alone took longer than its memory stream).
 */
function vectorExp(lanes: number): string {
  const generic = genericVectorExp(lanes);
  if (lanes !== 16) return generic;
  return ["#if defined(__AVX512F__)", avx512Exp(), "#else", generic, "#endif"].join("\n");
}

/**
 * The polynomial's coefficients for 2·e^r (generic form) and for e^r (the AVX-512 form),
 * highest degree first: each second one is the first halved, exactly, in decimal and so
 * in binary, so every Horner step of the second is exactly half the first's.
 */
const EXP_COEFFICIENTS: readonly (readonly [string, string])[] = [
  ["1.6625050455e-2f", "8.3125252275e-3f"],
  ["8.3780229092e-2f", "4.1890114546e-2f"],
  ["3.3334228396e-1f", "1.6667114198e-1f"],
  ["9.9998462200e-1f", "4.99992311e-1f"],
  ["2.0f", "1.0f"],
  ["2.0f", "1.0f"],
];

/** Horner steps of the polynomial in `r` into `y`: of 2·e^r, or of e^r when `halved`. */
function expPolynomial(type: string, halved: boolean): string[] {
  const [first, second, ...rest] = EXP_COEFFICIENTS.map((pair) => pair[halved ? 1 : 0]);
  return [`  ${type} y = r * ${first} + ${second};`, ...rest.map((c) => `  y = y * r + ${c};`)];
}

/**
 * The AVX-512 form: e^r scaled by 2^n with no bit tricks (2^n is a float up to n = 127
 * only, `vscalefps` needs none). x is clamped to 88.8 first (NaN passes through `min` as
 * its second operand), so +inf gives n = 129 and overflows to +inf rather than r = inf - inf.
 */
function avx512Exp(): string {
  const V = vecType(16);
  return [
    "#include <immintrin.h>",
    `${INLINE} ${V} colt_vexp_v16(${V} x) {`,
    "  __mmask16 inRange = _mm512_cmp_ps_mask((__m512)x, _mm512_set1_ps(-86.98f), _CMP_NLT_UQ);",
    `  x = (${V})_mm512_min_ps(_mm512_set1_ps(88.8f), (__m512)x);`,
    `  ${V} nf = (${V})_mm512_roundscale_ps((__m512)(x * 1.44269504088896341f), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);`,
    `  ${V} r = x - nf * 0.693359375f + nf * 2.12194440e-4f;`,
    ...expPolynomial(V, true),
    `  return (${V})_mm512_maskz_scalef_ps(inRange, (__m512)y, (__m512)nf);`,
    "}",
  ].join("\n");
}

/**
 * The portable form (GNU vectors): n by the 1.5·2^23 rounding trick (no conversions), the
 * coefficients of 2·e^r (so no add doubles it) and 2^(n-1) built in the exponent bits.
 */
function genericVectorExp(lanes: number): string {
  const V = vecType(lanes);
  const M = maskType(lanes);
  const splat = (c: string) => `(-(${V}){} + ${c})`;
  return [
    `${INLINE} ${V} colt_vexp_v${lanes}(${V} x) {`,
    `  ${M} over = x > ${splat("88.7228393f")}, under = x < ${splat("-86.98f")};`,
    `  ${V} fx = x * 1.44269504088896341f + 12582912.0f;`,
    `  ${V} nf = fx - 12582912.0f;`,
    `  ${V} r = x - nf * 0.693359375f + nf * 2.12194440e-4f;`,
    ...expPolynomial(V, false),
    // 2^(n-1): 2^n itself is not a float for n = 128 (x in 88.03..88.72); at n = -126
    // 2^(n-1) is not a normal float either, so those lanes flush to 0 (under).
    `  ${V} result = y * (${V})(((${M})fx << 23) + 0x3f000000);`,
    `  result = (${V})(~under & (${M})result);`,
    `  return (${V})((over & (${M})${splat("INFINITY")}) | (~over & (${M})result));`,
    `}`,
  ].join("\n");
}
