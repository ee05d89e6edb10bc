/**
 * Transparent huge pages for the large buffers of every timed program. COLT's harness
 * advises them itself (codegen/harness.ts); ONNX Runtime and OpenBLAS allocate through
 * glibc, whose `glibc.malloc.hugetlb=1` tunable does the same for their buffers, so the
 * programs compared side by side get the same kind of memory.
 */

const TUNABLE = "glibc.malloc.hugetlb=1";

/** `env` with glibc's huge-page tunable added to whatever tunables it already sets. */
export function withHugePages(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const set = (env.GLIBC_TUNABLES ?? "").split(":").filter((t) => t.length > 0);
  const others = set.filter((t) => !t.startsWith("glibc.malloc.hugetlb="));
  return { ...env, GLIBC_TUNABLES: [...others, TUNABLE].join(":") };
}
