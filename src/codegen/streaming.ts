/**
 * C helpers for non-temporal (streaming) vector stores. x86 has them (the store skips the
 * read a cache line would need before it is written, and does not evict data the kernel
 * reads again); elsewhere, and for addresses not aligned to the store's width, the helper
 * is a plain vector store, so a schedule with `stream_store` stays correct on every target.
 */
import { INLINE } from "./c-expr.ts";
import { vecType, vecTypeUnaligned } from "../target/gnu-vectors.ts";

export const STREAM_FENCE = "colt_stream_fence";

export const streamStoreName = (lanes: number) => `colt_stream_v${lanes}`;

/** The helpers for vectors of these widths, after the vector typedefs. */
export function streamingDefinitions(widths: readonly number[]): string[] {
  if (widths.length === 0) return [];
  return [
    // Inline assembly that names the one vector it writes: an intrinsic's store counts as
    // writing anything, and GCC then reloads every loop invariant (a row's norm) per vector.
    "#if defined(__AVX512F__)",
    "#define COLT_STREAM_LANES 16",
    "#elif defined(__AVX__)",
    "#define COLT_STREAM_LANES 8",
    "#endif",
    "#ifdef COLT_STREAM_LANES",
    "typedef float colt_stream_part __attribute__((vector_size(COLT_STREAM_LANES * 4)));",
    '#define colt_stream_part_store(p, v) __asm__("vmovntps %1, %0" : "=m"(*(colt_stream_part*)(p)) : "v"(v))',
    "#endif",
    // Streaming stores are weakly ordered: each thread fences before others may read.
    `${INLINE} void ${STREAM_FENCE}(void) {`,
    "#ifdef COLT_STREAM_LANES",
    '  __asm__ volatile("sfence" ::: "memory");',
    "#endif",
    "}",
    ...widths.flatMap((lanes) => [
      `${INLINE} void ${streamStoreName(lanes)}(float* p, ${vecType(lanes)} v) {`,
      "#ifdef COLT_STREAM_LANES",
      `  if (${lanes} % COLT_STREAM_LANES == 0 && ((__UINTPTR_TYPE__)p & (COLT_STREAM_LANES * 4 - 1)) == 0) {`,
      `    for (int c = 0; c < ${lanes}; c += COLT_STREAM_LANES) {`,
      "      colt_stream_part part;",
      "      __builtin_memcpy(&part, (const float*)&v + c, sizeof part);",
      "      colt_stream_part_store(p + c, part);",
      "    }",
      "    return;",
      "  }",
      "#endif",
      `  *(${vecTypeUnaligned(lanes)}*)p = v;`,
      "}",
    ]),
  ];
}
