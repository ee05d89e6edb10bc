import { describe, expect, it } from "vitest";
import { escapeHtml } from "../../src/report/html.ts";
import { printable } from "../../src/util/printable.ts";

describe("printable", () => {
  it("shows control characters as \\xHH and keeps line breaks and tabs", () => {
    expect(printable("a\u001b]0;t\u0007b\r\u009b2J\u007f\u0000")).toBe(
      "a\\u001b]0;t\\u0007b\\u000d\\u009b2J\\u007f\\u0000",
    );
    expect(printable("line 1\n\tline 2 é ✓")).toBe("line 1\n\tline 2 é ✓");
  });

  it("keeps JSON output valid JSON holding the same strings", () => {
    const value = { answer: "\u001b]0;t\u0007 \u009b2J \u007f \\\u009b" };
    const shown = printable(JSON.stringify(value));
    expect(shown).not.toMatch(/[\u007f-\u009f]/);
    expect(JSON.parse(shown)).toEqual(value);
  });

  it("is what the HTML report shows too", () => {
    expect(escapeHtml('<b title="x">\u001b[31m</b>')).toBe(
      "&lt;b title=&quot;x&quot;&gt;\\u001b[31m&lt;/b&gt;",
    );
  });
});
