/**
 * Loads onnxruntime-node, an optional dependency: when it is not installed, says how to
 * install it instead of failing with a module-resolution stack trace.
 */
import type * as OrtModule from "onnxruntime-node";

export type Ort = typeof OrtModule;

export class OrtMissingError extends Error {
  constructor(readonly importError: string) {
    super(
      "ONNX Runtime is not installed; run 'npm install onnxruntime-node' in the COLT checkout " +
        "(its .npmrc has onnxruntime-node-install=skip, so the install does not try to download GPU libraries)",
    );
    this.name = "OrtMissingError";
  }
}

function isModuleNotFound(e: unknown): e is Error {
  return (
    e instanceof Error &&
    "code" in e &&
    (e.code === "ERR_MODULE_NOT_FOUND" || e.code === "MODULE_NOT_FOUND")
  );
}

export async function loadOrt(): Promise<Ort> {
  try {
    return await import("onnxruntime-node");
  } catch (e) {
    if (isModuleNotFound(e)) throw new OrtMissingError(e.message);
    throw e;
  }
}
