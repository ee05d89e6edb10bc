/**
 * Loop nest -> C kernel. Unrolling is done here (explicit copies with constant indices,
 * so register accumulators become named variables the compiler keeps in registers);
 * vector loops become vector-extension statements with a scalar tail path.
 */
import {
  evalInt,
  freeVars,
  intConst,
  printInt,
  simplify,
  substitute,
  type IntExpr,
} from "../ir/int-expr.ts";
import { evaluateExpr } from "../ir/eval-expr.ts";
import { forEachRead, type Expr, type Stage } from "../ir/program.ts";
import { tensorsRead, type BufferDecl, type LoweredProgram, type Stmt } from "../ir/loop-nest.ts";
import {
  INLINE,
  broadcast,
  emitCond,
  emitExpr,
  helperDefinitions,
  intCode,
  type Emitted,
  type ExprEnv,
  type VectorContext,
} from "./c-expr.ts";
import { vecType, vecTypeUnaligned, vectorTypedefs } from "../target/gnu-vectors.ts";
import { foldTables } from "./fold-tables.ts";
import { invariantScalars, type UnrolledVar } from "./hoist.ts";
import { STREAM_FENCE, streamStoreName, streamingDefinitions } from "./streaming.ts";
import {
  matchTransposeCopy,
  SHUFFLE_MACRO,
  transposeDefinition,
  transposeName,
  type TransposeCopy,
} from "./transpose-copy.ts";

export const KERNEL_NAME = "colt_kernel";
export const WORKSPACE_FN = "colt_workspace_floats";
export const PREPARE_NAME = "colt_prepare";
export const PREPARED_FN = "colt_prepared_floats";
const PREPARED_BLOCK = "colt_prepared";
/** The kernel's body, called by the kernel with each intermediate as its own pointer. */
const KERNEL_BODY = "colt_body";

export interface TensorParam {
  readonly name: string;
  readonly shape: readonly number[];
}

export interface KernelSource {
  /** Complete C translation unit: the kernel, its workspace-size function and, when a weight is prepared, the prepare function. */
  readonly code: string;
  /** Every input of the program, in program order. */
  readonly inputs: readonly TensorParam[];
  readonly outputs: readonly TensorParam[];
  /** Inputs the kernel takes: a weight read only through its prepared copy is left out. */
  readonly kernelInputs: readonly string[];
  /**
   * Prepared weights, inside one block of PREPARED_FN() floats that PREPARE_NAME fills
   * once from `preparedFrom` and the kernel reads (a parameter after the outputs).
   */
  readonly prepared: readonly TensorParam[];
  readonly preparedFrom: readonly string[];
  /** Prototypes of the functions `code` defines, for a caller in another translation unit. */
  readonly declarations: readonly string[];
}

const C_RESERVED = new Set(
  "auto break case char const continue default do double else enum extern float for goto if inline int long register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while main".split(
    " ",
  ),
);

const ALIGN_FLOATS = 16;
const alignUp = (n: number) => Math.ceil(n / ALIGN_FLOATS) * ALIGN_FLOATS;
const sizeOf = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);
const INT32_MAX = 2 ** 31 - 1;

const tensorParam = (b: BufferDecl): TensorParam => ({ name: b.name, shape: b.shape });
const dims = (bs: readonly BufferDecl[]) =>
  bs.map((b) => `${b.name}[${b.shape.join("][")}]`).join(", ");

export function emitKernel(lp: LoweredProgram): KernelSource {
  return new KernelEmitter(lp).emit();
}

class KernelEmitter implements ExprEnv {
  private readonly lines: string[] = [];
  private depth = 1;
  private readonly cNames = new Map<string, string>();
  /** Inside a parallel loop: restrict-qualified local copies of the kernel's pointers. */
  private readonly restrictCopies = new Map<string, string>();
  private readonly taken = new Set<string>();
  private readonly consts = new Map<string, number>();
  private vec: VectorContext | undefined;
  private vecVar: string | undefined;
  private readonly helpers = new Set<string>();
  private readonly buffers: Map<string, BufferDecl>;
  private readonly offsets = new Map<string, number>();
  private sharedFloats = 0;
  private perThreadFloats = 0;
  private readonly vectorWidths = new Set<number>();
  /** Widths of the streaming stores emitted, for their helpers. */
  private readonly streamWidths = new Set<number>();
  /** Widths of the transposing copies emitted, for their helpers. */
  private readonly transposeWidths = new Set<number>();
  /** Scalars computed before the loop being emitted, by the expression they replace. */
  private readonly hoistedScalars = new Map<Expr, { name: string; over: readonly UnrolledVar[] }>();
  private hoistedCount = 0;
  /** C type of loop variables: 64-bit once an offset can pass 2^31 - 1, where `int` wraps. */
  private readonly indexType: "int" | "long long";
  private readonly kernelParams = new Set<string>();
  private preparedFloats = 0;
  /** Coefficient tables (stages that read nothing), folded where read at constant indices. */
  private readonly tables: ReadonlyMap<string, Stage>;

  constructor(private readonly lp: LoweredProgram) {
    this.buffers = new Map(lp.buffers.map((b) => [b.name, b]));
    this.tables = new Map(
      lp.program.stages.filter((st) => readsNothing(st)).map((st) => [st.name, st]),
    );
    for (const b of lp.buffers) this.cName(b.name);
    for (const b of lp.buffers) {
      const size = alignUp(sizeOf(b.shape));
      if (b.role === "prepared") {
        this.offsets.set(b.name, this.preparedFloats);
        this.preparedFloats += size;
        continue;
      }
      if (b.role !== "temp" && b.role !== "pack") continue;
      if (b.perThread) {
        this.offsets.set(b.name, this.perThreadFloats);
        this.perThreadFloats += size;
      } else {
        this.offsets.set(b.name, this.sharedFloats);
        this.sharedFloats += size;
      }
    }
    const largest = Math.max(
      this.sharedFloats,
      this.perThreadFloats,
      this.preparedFloats,
      ...lp.buffers.map((b) => sizeOf(b.shape)),
    );
    this.indexType = largest > INT32_MAX ? "long long" : "int";
  }

  emit(): KernelSource {
    const inputs = this.lp.buffers.filter((b) => b.role === "input");
    // Outputs in the program's declared order, which is also the order of --out files.
    const outputs = this.lp.program.outputs.map((o) => this.buffer(o));
    const prepared = this.lp.buffers.filter((b) => b.role === "prepared");
    // A weight read only through its prepared copy is not a kernel parameter.
    const bodyReads = new Set(tensorsRead(this.lp.body));
    const kernelInputs = inputs.filter((b) => bodyReads.has(b.name));
    for (const b of [...kernelInputs, ...outputs, ...prepared]) this.kernelParams.add(b.name);
    const params = [
      ...kernelInputs.map((b) => `const float* restrict ${this.cName(b.name)}`),
      ...outputs.map((b) => `float* restrict ${this.cName(b.name)}`),
    ];
    const preparedReads = new Set(tensorsRead(this.lp.prepare));
    const preparedFrom = inputs.filter((b) => preparedReads.has(b.name));
    const prepareParams = [
      ...preparedFrom.map((b) => `const float* restrict ${this.cName(b.name)}`),
      `float* restrict ${PREPARED_BLOCK}`,
    ];
    const prepare = this.emitPrepare(preparedFrom, prepared, prepareParams);
    const kernelParams = [
      ...params,
      ...(prepared.length > 0 ? [`const float* restrict ${PREPARED_BLOCK}`] : []),
      "float* restrict colt_ws",
    ];
    // The intermediates reach the body as restrict parameters of their own. Pointers
    // derived from one workspace pointer may alias as far as GCC knows, and it then
    // refuses to vectorize a loop nest that reads one intermediate and writes another.
    const rootTemps = this.lp.buffers.filter(
      (b) => b.role === "temp" && !b.perThread && this.isRootTemp(b),
    );
    const bodyParams = [
      ...params,
      ...prepared.map((b) => `const float* restrict ${this.cName(b.name)}`),
      ...rootTemps.map((b) => `float* restrict ${this.cName(b.name)}`),
      "float* restrict colt_ws",
    ];
    const bodyArgs = [
      ...[...kernelInputs, ...outputs].map((b) => this.cName(b.name)),
      ...prepared.map((b) => `${PREPARED_BLOCK} + ${this.offsets.get(b.name)}`),
      ...rootTemps.map((b) => `colt_ws + ${this.offsets.get(b.name)}`),
      "colt_ws",
    ];
    this.stmts(this.lp.body);
    if (this.streamWidths.size > 0) this.line(`${STREAM_FENCE}();`);
    const body = this.lines.join("\n");
    const header = [
      "#include <math.h>",
      "#include <stddef.h>",
      "#include <omp.h>",
      "",
      ...[...this.vectorWidths].sort((a, b) => a - b).flatMap((l) => vectorTypedefs(l)),
      `${INLINE} ${this.indexType} colt_imin(${this.indexType} a, ${this.indexType} b) { return a < b ? a : b; }`,
      `${INLINE} float colt_fmin(float a, float b) { return a < b ? a : b; }`,
      `${INLINE} float colt_fmax(float a, float b) { return a > b ? a : b; }`,
      helperDefinitions(this.helpers),
      ...streamingDefinitions([...this.streamWidths].sort((a, b) => a - b)),
      ...(this.transposeWidths.size > 0 ? SHUFFLE_MACRO : []),
      ...[...this.transposeWidths].sort((a, b) => a - b).flatMap((l) => transposeDefinition(l)),
      "",
      `/* Workspace for intermediates and packed copies, in floats, for a given thread count. */`,
      `size_t ${WORKSPACE_FN}(int nthreads) { return ${this.sharedFloats}u + (size_t)nthreads * ${this.perThreadFloats}u; }`,
      "",
      ...prepare,
      `/* ${this.lp.program.name}: inputs ${dims(kernelInputs)}; outputs ${dims(outputs)}${prepared.length > 0 ? `; prepared ${dims(prepared)}` : ""}; row-major fp32. */`,
      `static __attribute__((noinline)) void ${KERNEL_BODY}(${bodyParams.join(", ")}) {`,
    ];
    const kernel = [
      `void ${KERNEL_NAME}(${kernelParams.join(", ")}) {`,
      `  ${KERNEL_BODY}(${bodyArgs.join(", ")});`,
      "}",
    ];
    return {
      code: [...header, body, "}", "", ...kernel, ""].join("\n"),
      inputs: inputs.map(tensorParam),
      outputs: outputs.map(tensorParam),
      kernelInputs: kernelInputs.map((b) => b.name),
      prepared: prepared.map(tensorParam),
      preparedFrom: preparedFrom.map((b) => b.name),
      declarations: [
        `size_t ${WORKSPACE_FN}(int nthreads);`,
        ...(prepared.length > 0
          ? [`size_t ${PREPARED_FN}(void);`, `void ${PREPARE_NAME}(${prepareParams.join(", ")});`]
          : []),
        `void ${KERNEL_NAME}(${kernelParams.join(", ")});`,
      ],
    };
  }

  /** The prepare function: fills every prepared buffer, inside one block, from its weight. */
  private emitPrepare(
    weights: readonly BufferDecl[],
    prepared: readonly BufferDecl[],
    params: readonly string[],
  ): string[] {
    if (prepared.length === 0) return [];
    // Emitted before the kernel body: the lines so far are the prepare function's alone.
    this.stmts(this.lp.prepare);
    const body = this.lines.splice(0);
    return [
      `/* Prepared weights, in floats: ${dims(prepared)}, one 64-byte aligned block. */`,
      `size_t ${PREPARED_FN}(void) { return ${this.preparedFloats}u; }`,
      "",
      `/* Re-lays ${weights.map((b) => b.name).join(", ")} into the prepared block, once, before the kernel runs. */`,
      `void ${PREPARE_NAME}(${params.join(", ")}) {`,
      ...prepared.map(
        (b) =>
          `  float* restrict ${this.cName(b.name)} = ${PREPARED_BLOCK} + ${this.offsets.get(b.name)};`,
      ),
      ...body,
      "}",
      "",
    ];
  }

  /** Root temporaries are the full-size intermediate tensors (their name is a stage name). */
  private isRootTemp(b: BufferDecl): boolean {
    return this.lp.program.stages.some((s) => s.name === b.name);
  }

  private cName(name: string): string {
    const local = this.restrictCopies.get(name);
    if (local) return local;
    const known = this.cNames.get(name);
    if (known) return known;
    let base = name.replace(/[^A-Za-z0-9_]/g, "_");
    if (C_RESERVED.has(base) || base.startsWith("colt_")) base = `${base}_`;
    let c = base;
    for (let n = 2; this.taken.has(c); n++) c = `${base}${n}`;
    this.taken.add(c);
    this.cNames.set(name, c);
    return c;
  }

  private line(text: string) {
    this.lines.push(`${"  ".repeat(this.depth)}${text}`);
  }

  /** A braced scope only when the statements declare something; plain statements otherwise. */
  private scoped(body: readonly Stmt[], inner: () => void) {
    if (body.some((x) => x.k === "alloc")) this.block("", inner);
    else inner();
  }

  private block(open: string, inner: () => void) {
    this.line(`${open} {`);
    this.depth++;
    inner();
    this.depth--;
    this.line("}");
  }

  intVar(name: string): string {
    return this.cName(name);
  }

  resolve(e: IntExpr): IntExpr {
    if (this.consts.size === 0) return e;
    return substitute(e, new Map([...this.consts].map(([k, v]) => [k, intConst(v)])));
  }

  useHelper(name: string): void {
    this.helpers.add(name);
  }

  hoisted(e: Expr): string | undefined {
    const h = this.hoistedScalars.get(e);
    if (!h) return undefined;
    // Each unrolled copy reads its own element, at constant indices that GCC keeps in registers.
    return (
      h.name +
      h.over
        .map((u) => {
          const at = this.consts.get(u.v);
          if (at === undefined)
            throw new Error(`hoisted ${h.name} read outside its unrolled loop ${u.v}`);
          return `[${at}]`;
        })
        .join("")
    );
  }

  /** Evaluates `e` when every variable in it is an unrolled constant. */
  private constValue(e: IntExpr): number | undefined {
    const vars = [...freeVars(e)];
    if (!vars.every((v) => this.consts.has(v))) return undefined;
    return evalInt(e, this.consts);
  }

  private flatOffset(b: BufferDecl, idx: readonly IntExpr[]): string {
    let off: IntExpr = intConst(0);
    let stride = 1;
    for (let d = b.shape.length - 1; d >= 0; d--) {
      off = simplify({ k: "add", a: off, b: { k: "mul", a: idx[d], c: stride } });
      stride *= b.shape[d];
    }
    return intCode(off, this);
  }

  private registerName(b: BufferDecl, idx: readonly IntExpr[]): { name: string; lane?: string } {
    const lanes = b.lanes ?? 1;
    const fixed = idx.slice(0, lanes > 1 ? -1 : undefined).map((x) => {
      const c = this.constValue(x);
      if (c === undefined)
        throw new Error(
          `codegen: register accumulator ${b.name} indexed by a non-constant ${printInt(x)}`,
        );
      return c;
    });
    if (lanes === 1) return { name: [this.cName(b.name), ...fixed].join("_") };
    const last = idx[idx.length - 1];
    const c = this.constValue(last);
    const group = c === undefined ? 0 : Math.floor(c / lanes);
    const lane = c === undefined ? intCode(last, this) : String(c % lanes);
    return { name: [this.cName(b.name), ...fixed, group].join("_"), lane };
  }

  load(buffer: string, idx: readonly IntExpr[], vec: VectorContext | undefined): Emitted {
    const b = this.buffer(buffer);
    if (b.registers) {
      const r = this.registerName(b, idx);
      if (vec || r.lane === undefined) return { code: r.name, vec: vec !== undefined };
      return { code: `${r.name}[${r.lane}]`, vec: false };
    }
    const off = this.flatOffset(b, idx);
    if (vec)
      return {
        code: `(*(${vecTypeUnaligned(vec.lanes)}*)&${this.cName(buffer)}[${off}])`,
        vec: true,
      };
    return { code: `${this.cName(buffer)}[${off}]`, vec: false };
  }

  private buffer(name: string): BufferDecl {
    const b = this.buffers.get(name);
    if (!b) throw new Error(`codegen: unknown buffer '${name}'`);
    return b;
  }

  private stmts(list: readonly Stmt[]) {
    for (const s of list) this.stmt(s);
  }

  private stmt(s: Stmt) {
    switch (s.k) {
      case "comment":
        this.line(`/* ${s.text.replace(/\*\//g, "* /")} */`);
        return;
      case "alloc":
        this.alloc(this.buffer(s.buf));
        return;
      case "if": {
        const c = emitCond(s.cond, this, undefined);
        this.block(`if ${c.code.startsWith("(") ? c.code : `(${c.code})`}`, () =>
          this.stmts(s.body),
        );
        return;
      }
      case "store":
        this.store(s);
        return;
      case "for":
        this.loop(s);
        return;
      case "prefetch": {
        // Integer arithmetic: a pointer past the tensor (the last rows' look-ahead) is UB in C.
        // Locality 3 fetches into L1 (and L2), 2 into L2 only.
        const b = this.buffer(s.tensor);
        this.line(
          `__builtin_prefetch((const void*)((__UINTPTR_TYPE__)${this.cName(s.tensor)} + sizeof(float) * (size_t)(${this.flatOffset(b, s.idx)})), 0, ${s.l1 ? 3 : 2});`,
        );
        return;
      }
    }
  }

  private alloc(b: BufferDecl) {
    const name = this.cName(b.name);
    if (b.role === "local") {
      if (b.registers) {
        const lanes = b.lanes ?? 1;
        const dims =
          lanes > 1 ? [...b.shape.slice(0, -1), b.shape[b.shape.length - 1] / lanes] : [...b.shape];
        const names: string[] = [];
        const walk = (prefix: string, d: number) => {
          if (d === dims.length) names.push(prefix);
          else for (let i = 0; i < dims[d]; i++) walk(`${prefix}_${i}`, d + 1);
        };
        walk(name, 0);
        if (lanes > 1) this.vectorWidths.add(lanes);
        this.line(`${lanes > 1 ? vecType(lanes) : "float"} ${names.join(", ")};`);
      } else {
        this.line(`float ${name}[${sizeOf(b.shape)}] __attribute__((aligned(64)));`);
      }
      return;
    }
    const off = this.offsets.get(b.name)!;
    if (b.perThread) {
      this.line(
        `float* restrict ${name} = colt_ws + ${this.sharedFloats} + (size_t)omp_get_thread_num() * ${this.perThreadFloats} + ${off};`,
      );
    } else {
      this.line(`float* restrict ${name} = colt_ws + ${off};`);
    }
  }

  /** A table's entry when every index of the read is constant here (not along a vector). */
  private tableEntry(read: Extract<Expr, { k: "read" }>): number | undefined {
    const table = this.tables.get(read.tensor);
    const vecVar = this.vecVar;
    if (!table || (vecVar && read.idx.some((i) => freeVars(i).has(vecVar)))) return undefined;
    const idx = read.idx.map((i) => this.constValue(i));
    if (idx.some((i) => i === undefined)) return undefined;
    const env = new Map(table.axes.map((a, d) => [a.name, idx[d]!]));
    return evaluateExpr(table.body, env, (tensor) => {
      throw new Error(`codegen: table ${table.name} reads ${tensor}`);
    });
  }

  private store(s: Extract<Stmt, { k: "store" }>) {
    const folded = this.tables.size > 0 ? foldTables(s.value, (r) => this.tableEntry(r)) : s.value;
    // An accumulation whose every term had a zero coefficient: nothing to add.
    if (
      folded !== s.value &&
      folded.k === "read" &&
      folded.tensor === s.buf &&
      folded.idx.every((x, d) => printInt(x) === printInt(s.idx[d]))
    )
      return;
    const value = emitExpr(folded, this, this.vec, this.vecVar);
    const b = this.buffer(s.buf);
    if (this.vec && (value.vec || s.idx.some((x) => this.vecVar && freeVars(x).has(this.vecVar)))) {
      const v = broadcast(value, this.vec.lanes);
      if (b.registers) this.line(`${this.registerName(b, s.idx).name} = ${v};`);
      else if (s.streaming) {
        this.streamWidths.add(this.vec.lanes);
        this.line(
          `${streamStoreName(this.vec.lanes)}(&${this.cName(s.buf)}[${this.flatOffset(b, s.idx)}], ${v});`,
        );
      } else
        this.line(
          `*(${vecTypeUnaligned(this.vec.lanes)}*)&${this.cName(s.buf)}[${this.flatOffset(b, s.idx)}] = ${v};`,
        );
      return;
    }
    const target = this.load(s.buf, s.idx, undefined).code;
    this.line(`${target} = ${value.code};`);
  }

  /** Declares the loop's invariant scalars before it; they replace their expressions inside. */
  private hoist(s: Extract<Stmt, { k: "for" }>): Expr[] {
    const found: Expr[] = [];
    // The same value read by several stores (layernorm's mean, once per unrolled vector).
    const byCode = new Map<string, string>();
    for (const { expr, over } of invariantScalars(s, (t) => this.tables.has(t))) {
      if (this.hoistedScalars.has(expr)) continue;
      const code = over.length === 0 ? emitExpr(expr, this, undefined).code : undefined;
      const same = code === undefined ? undefined : byCode.get(code);
      // Program names never start with colt_ (cName renames them), so this one is free.
      const name = same ?? `colt_hoisted_${this.hoistedCount++}`;
      if (code !== undefined) {
        if (!same) {
          this.line(`const float ${name} = ${code};`);
          byCode.set(code, name);
        }
      } else {
        this.line(`float ${name}${over.map((u) => `[${u.extent}]`).join("")};`);
        // One assignment per copy, with the unrolled loops at constants, as inside them: a
        // value hoisted from an outer loop that `expr` contains is read per copy too.
        const fill = (depth: number): void => {
          if (depth === over.length) {
            const at = over.map((u) => `[${this.consts.get(u.v)}]`).join("");
            this.line(`${name}${at} = ${emitExpr(expr, this, undefined).code};`);
            return;
          }
          for (let c = 0; c < over[depth].extent; c++) {
            this.consts.set(over[depth].v, c);
            fill(depth + 1);
          }
          this.consts.delete(over[depth].v);
        };
        fill(0);
      }
      this.hoistedScalars.set(expr, { name, over });
      found.push(expr);
    }
    return found;
  }

  /** Parameters and root temporaries, re-declared so the outlined body keeps `restrict`. */
  private declareRestrictCopies() {
    for (const b of this.lp.buffers) {
      const param = this.kernelParams.has(b.name);
      if (!param && !(b.role === "temp" && !b.perThread && this.isRootTemp(b))) continue;
      const outer = this.cName(b.name);
      const copy = this.cName(`${b.name}_thread`);
      const readOnly = b.role === "input" || b.role === "prepared";
      this.line(`${readOnly ? "const " : ""}float* restrict ${copy} = ${outer};`);
      this.restrictCopies.set(b.name, copy);
    }
  }

  private loop(s: Extract<Stmt, { k: "for" }>) {
    const transposed = s.kind === "serial" && !this.vec && matchTransposeCopy(s, this.buffers);
    if (transposed) return this.transposeCopy(transposed);
    const name = this.cName(s.v);
    const count = intCode(s.count, this);
    const constCount = this.constValue(s.count);
    const serial = (pragma?: string) => {
      if (pragma) this.line(pragma);
      const hoisted = this.hoist(s);
      this.block(`for (${this.indexType} ${name} = 0; ${name} < ${count}; ${name}++)`, () =>
        this.stmts(s.body),
      );
      for (const e of hoisted) this.hoistedScalars.delete(e);
    };
    if (s.kind === "serial") return serial();
    if (s.kind === "parallel") {
      // A serial copy for one thread: code outlined into an OpenMP region loses `restrict`
      // on captured pointers, which costs vectorization even when no thread is spawned.
      this.block("if (omp_get_max_threads() > 1)", () => {
        const schedule = s.chunk !== undefined ? `dynamic, ${s.chunk}` : "static";
        this.line(`#pragma omp parallel for schedule(${schedule})`);
        this.block(`for (${this.indexType} ${name} = 0; ${name} < ${count}; ${name}++)`, () => {
          this.declareRestrictCopies();
          this.stmts(s.body);
          if (hasStreamingStore(s.body)) this.line(`${STREAM_FENCE}();`);
          this.restrictCopies.clear();
        });
      });
      this.block("else", () => serial());
      return;
    }
    if (s.kind === "unroll") {
      const copies = (guarded: boolean) => {
        for (let i = 0; i < s.extent; i++) {
          this.consts.set(s.v, i);
          if (guarded) this.block(`if (${i} < ${count})`, () => this.stmts(s.body));
          else this.scoped(s.body, () => this.stmts(s.body));
        }
        this.consts.delete(s.v);
      };
      if (constCount !== undefined) {
        for (let i = 0; i < Math.min(constCount, s.extent); i++) {
          this.consts.set(s.v, i);
          this.scoped(s.body, () => this.stmts(s.body));
        }
        this.consts.delete(s.v);
        return;
      }
      this.block(`if (${count} >= ${s.extent})`, () => copies(false));
      this.block("else", () => copies(true));
      return;
    }
    // Vector loop: full vectors when the trip count is the width, a scalar tail otherwise.
    this.vectorWidths.add(s.extent);
    const vectorBody = () => {
      const saved = { vec: this.vec, vecVar: this.vecVar };
      this.vec = { v: name, lanes: s.extent };
      this.vecVar = s.v;
      this.consts.set(s.v, 0);
      this.stmts(s.body);
      this.consts.delete(s.v);
      this.vec = saved.vec;
      this.vecVar = saved.vecVar;
    };
    if (constCount === s.extent) return vectorBody();
    if (constCount !== undefined) return serial();
    this.block(`if (${count} >= ${s.extent})`, vectorBody);
    this.block("else", () =>
      this.block(`for (${this.indexType} ${name} = 0; ${name} < ${count}; ${name}++)`, () =>
        this.stmts(s.body),
      ),
    );
  }

  /** A transposing pack copy in blocks of one vector width (see transpose-copy.ts). */
  private transposeCopy(t: TransposeCopy) {
    const T = this.indexType;
    const V = vecType(t.lanes);
    const VU = vecTypeUnaligned(t.lanes);
    this.vectorWidths.add(t.lanes);
    this.transposeWidths.add(t.lanes);
    const [row, column] = [this.cName(t.row.v), this.cName(t.column.v)];
    const [row0, column0] = [this.cName(`${t.row.v}.block`), this.cName(`${t.column.v}.block`)];
    const src = this.buffer(t.source.tensor);
    const dst = this.buffer(t.store.buf);
    const blocks = () =>
      this.block(
        `for (${T} ${column0} = 0; ${column0} < ${t.column.extent}; ${column0} += ${t.lanes})`,
        () =>
          this.block(
            `for (${T} ${row0} = 0; ${row0} < ${t.row.extent}; ${row0} += ${t.lanes})`,
            () => {
              this.line(`${V} colt_rows[${t.lanes}];`);
              this.block(`for (int colt_i = 0; colt_i < ${t.lanes}; colt_i++)`, () => {
                this.line(`const ${T} ${row} = ${row0} + colt_i, ${column} = ${column0};`);
                this.line(
                  `colt_rows[colt_i] = *(const ${VU}*)&${this.cName(t.source.tensor)}[${this.flatOffset(src, t.source.idx)}];`,
                );
              });
              this.line(`${transposeName(t.lanes)}(colt_rows);`);
              this.block(`for (int colt_i = 0; colt_i < ${t.lanes}; colt_i++)`, () => {
                this.line(`const ${T} ${row} = ${row0}, ${column} = ${column0} + colt_i;`);
                this.line(
                  `*(${VU}*)&${this.cName(t.store.buf)}[${this.flatOffset(dst, t.store.idx)}] = colt_rows[colt_i];`,
                );
              });
            },
          ),
      );
    const nest = (depth: number): void => {
      if (depth === t.outer.length) return blocks();
      const l = t.outer[depth];
      const v = this.cName(l.v);
      this.block(`for (${T} ${v} = 0; ${v} < ${l.extent}; ${v}++)`, () => nest(depth + 1));
    };
    nest(0);
  }
}

function readsNothing(stage: Stage): boolean {
  let reads = false;
  forEachRead(stage.body, () => {
    reads = true;
  });
  return !reads && stage.reduceAxes.length === 0;
}

function hasStreamingStore(stmts: readonly Stmt[]): boolean {
  return stmts.some((s) =>
    s.k === "store" ? s.streaming === true : "body" in s && hasStreamingStore(s.body),
  );
}
