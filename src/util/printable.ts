/**
 * Text from outside COLT (LLM answers, schedule files, bucket files, arguments) must not
 * drive the terminal: an escape sequence in an answer could retitle it, move the cursor
 * or hide lines. Control characters are shown as `\u00HH` instead of being sent; that is
 * also JSON's own escape, so `--json` output stays valid JSON with the same strings
 * (JSON.stringify leaves DEL and the C1 controls raw).
 */

/** C0 controls but tab and newline, DEL and the C1 controls (0x9b opens a CSI on its own). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
