/** Running the CLI as if the optional dependency onnxruntime-node were not installed. */

/**
 * A module-resolution hook that makes `onnxruntime-node` unresolvable, as it is when the
 * optional dependency was not installed.
 */
const HIDE_ORT_HOOKS = `export async function resolve(specifier, context, next) {
  if (specifier === "onnxruntime-node") {
    const e = new Error("Cannot find package 'onnxruntime-node'");
    e.code = "ERR_MODULE_NOT_FOUND";
    throw e;
  }
  return next(specifier, context);
}`;
export const HIDE_ORT = `data:text/javascript,${encodeURIComponent(
  `import { register } from "node:module"; register(${JSON.stringify(
    `data:text/javascript,${encodeURIComponent(HIDE_ORT_HOOKS)}`,
  )});`,
)}`;
