/**
 * The size an answer may have. A joint action fits in a few hundred bytes; a model that
 * writes megabytes is rambling, and whole such answers made records of hundreds of
 * megabytes that took seconds each to read back. An answer over the cap keeps only its
 * first bytes (what the records hold) and counts as that model's error.
 */
export const MAX_ANSWER_BYTES = 64 * 1024;

/** How much of an over-long answer is kept, to show what the model wrote. */
const KEPT_CHARS = 200;

export interface CappedText {
  readonly text: string;
  /** The answer's size in UTF-8 bytes when it was over the cap and cut. */
  readonly truncatedBytes?: number;
}

export function capAnswer(text: string): CappedText {
  // A UTF-16 code unit is at most 3 bytes of UTF-8: short texts need no measuring.
  if (text.length * 3 <= MAX_ANSWER_BYTES) return { text };
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes <= MAX_ANSWER_BYTES) return { text };
  return { text: text.slice(0, KEPT_CHARS), truncatedBytes: bytes };
}

/** "an answer of 5.0 MB is over the 64 KiB cap". */
export function describeOversize(bytes: number): string {
  const size = bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1024).toFixed(0)} KiB`;
  return `an answer of ${size} is over the ${MAX_ANSWER_BYTES / 1024} KiB cap (the records keep its first ${KEPT_CHARS} characters)`;
}
