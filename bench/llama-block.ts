/**
 * Writes a Llama-style block (RMSNorm written out, grouped-query attention, SwiGLU) at a
 * realistic width as an ONNX file, for `colt tune` and `colt compare` on a whole model:
 *
 *   npx tsx bench/llama-block.ts llama-2048.onnx            # hidden 2048, 64 tokens
 *   npx colt tune llama-2048.onnx --trials 48 --out llama-2048-colt
 *   npx colt compare llama-2048.onnx
 *
 * Sizes as TinyLlama-1.1B's layers: hidden 2048, 32 query heads, 4 key/value heads,
 * intermediate 5632; `--tokens N` changes the sequence length (default 64).
 */
import { llamaBlock } from "../test/support/onnx-models.ts";

const args = process.argv.slice(2);
const file = args.find((a) => a.endsWith(".onnx")) ?? "llama-2048.onnx";
const at = args.indexOf("--tokens");
const tokens = at >= 0 ? Number(args[at + 1]) : 64;
if (!Number.isInteger(tokens) || tokens < 1) {
  process.stderr.write("llama-block: --tokens takes a positive integer\n");
  process.exit(2);
}
llamaBlock(file, { S: tokens, E: 2048, Hq: 32, Hkv: 4, F: 5632 });
process.stdout.write(`${file}: Llama-style block, hidden 2048, ${tokens} tokens\n`);
