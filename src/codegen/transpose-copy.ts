/**
 * Packs that transpose: a `pack` copy whose buffer is contiguous along one loop while the
 * source is contiguous along another (attention's K panel packed key-major, a GEMM's A
 * block packed row-innermost). Element by element, every such copy reads with a large
 * stride; GCC assembles it from scalar loads and inserts. Instead the copy is emitted in
 * square blocks of one vector width: that many vector loads along the source's contiguous
 * loop, a transpose in registers, that many vector stores along the buffer's. At paper
 * size this packing took about 10% of flux-attention's time before (Zen 5, 1 thread).
 */
import { INLINE } from "./c-expr.ts";
import type { BufferDecl, Stmt } from "../ir/loop-nest.ts";
import { strideAlong } from "../ir/strides.ts";
import { maskType, vecType } from "../target/gnu-vectors.ts";

type For = Extract<Stmt, { k: "for" }>;
type Store = Extract<Stmt, { k: "store" }>;

/** Block widths the transpose is written for: one vector of 4, 8 or 16 fp32 lanes. */
const TRANSPOSE_WIDTHS: readonly number[] = [4, 8, 16];

export interface TransposeCopy {
  /** The copy's loops other than the two transposed ones, outermost first. */
  readonly outer: readonly For[];
  /** The buffer's contiguous loop (unit stride in the buffer, strided in the source). */
  readonly row: For;
  /** The source's contiguous loop (unit stride in the source, strided in the buffer). */
  readonly column: For;
  /** Block width: row's extent, a vector width; column's extent is a multiple of it. */
  readonly lanes: number;
  readonly store: Store;
  readonly source: Extract<Store["value"], { k: "read" }>;
}

/**
 * The transposed form of the copy nest rooted at `loop`, or undefined when it is not a
 * plain pack copy that transposes whole blocks: every loop serial with a constant trip
 * count, one store of one read into a pack buffer, the innermost loop unit-stride in the
 * buffer and of a vector width, another unit-stride in the source and a multiple of it.
 */
export function matchTransposeCopy(
  loop: For,
  buffers: ReadonlyMap<string, BufferDecl>,
): TransposeCopy | undefined {
  const loops: For[] = [loop];
  let body = loop.body;
  while (body.length === 1 && body[0].k === "for") {
    loops.push(body[0]);
    body = body[0].body;
  }
  const store = body.length === 1 && body[0].k === "store" ? body[0] : undefined;
  if (!store || store.streaming || store.value.k !== "read") return undefined;
  const source = store.value;
  const dst = buffers.get(store.buf);
  const src = buffers.get(source.tensor);
  if (dst?.role !== "pack" || !src) return undefined;
  const constant = (l: For) => l.count.k === "const" && l.count.v === l.extent;
  if (!loops.every((l) => l.kind === "serial" && constant(l))) return undefined;

  const row = loops[loops.length - 1];
  const lanes = row.extent;
  const dstStride = (l: For) => strideAlong(store.idx, dst.shape, l.v);
  const srcStride = (l: For) => strideAlong(source.idx, src.shape, l.v);
  // Both addresses affine in every loop, so the copy's blocks can be visited in any order.
  if (loops.some((l) => srcStride(l) === null || dstStride(l) === null)) return undefined;
  if (!TRANSPOSE_WIDTHS.includes(lanes) || dstStride(row) !== 1 || srcStride(row) === 1)
    return undefined;
  const column = loops.find(
    (l) => l !== row && l.extent % lanes === 0 && srcStride(l) === 1 && dstStride(l) !== 1,
  );
  if (!column) return undefined;
  const outer = loops.filter((l) => l !== row && l !== column);
  return { outer, row, column, lanes, store, source };
}

export const transposeName = (lanes: number) => `colt_transpose_v${lanes}`;

/**
 * In-register transpose of `lanes` vectors: log2(lanes) rounds, each swapping the
 * off-diagonal blocks of every 2w x 2w block (w = lanes/2 down to 1) with two-vector
 * shuffles.
 */
export function transposeDefinition(lanes: number): string[] {
  const V = vecType(lanes);
  const M = maskType(lanes);
  const lines = [`${INLINE} void ${transposeName(lanes)}(${V}* r) {`, `  ${V} a, b;`];
  for (let w = lanes / 2; w >= 1; w /= 2) {
    const lo: number[] = [];
    const hi: number[] = [];
    for (let j = 0; j < lanes; j++) {
      lo.push(j & w ? lanes + j - w : j);
      hi.push(j & w ? lanes + j : j + w);
    }
    for (let i = 0; i < lanes; i++) {
      if (i & w) continue;
      lines.push(
        `  a = r[${i}]; b = r[${i + w}];`,
        `  r[${i}] = COLT_SHUFFLE(a, b, ${M}, ${lo.join(", ")});`,
        `  r[${i + w}] = COLT_SHUFFLE(a, b, ${M}, ${hi.join(", ")});`,
      );
    }
  }
  lines.push("}");
  return lines;
}

/** The two-vector shuffle in GCC's and clang's spelling. */
export const SHUFFLE_MACRO = [
  "#if defined(__clang__)",
  "#define COLT_SHUFFLE(a, b, mask_type, ...) __builtin_shufflevector(a, b, __VA_ARGS__)",
  "#else",
  "#define COLT_SHUFFLE(a, b, mask_type, ...) __builtin_shuffle(a, b, (mask_type){__VA_ARGS__})",
  "#endif",
];
