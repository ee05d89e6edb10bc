/** Why a model's library could not be built or did not match ONNX Runtime. */
export class LibraryError extends Error {
  constructor(
    readonly model: string,
    readonly stage: "plan" | "build" | "run" | "check",
    readonly detail: string,
  ) {
    super(
      `${model}: the C library ${stage === "check" ? "does not match ONNX Runtime" : `failed at ${stage}`}: ${detail}`,
    );
    this.name = "LibraryError";
  }
}
