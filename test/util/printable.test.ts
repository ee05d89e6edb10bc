import { describe, expect, it } from "vitest";
import { escapeHtml } from "../../src/report/html.ts";
import { printable } from "../../src/util/printable.ts";

describe("printable", () => {
  it("shows control characters as \\xHH and keeps line breaks and tabs", () => {
    expect(printable("a\u001b]0;t\u0007b\r\u009b2J\u007f\u0000")).toBe(
      "a\\x1b]0;t\\x07b\\x0d\\x9b2J\\x7f\\x00",
    );
    expect(printable("line 1\n\tline 2 é ✓")).toBe("line 1\n\tline 2 é ✓");
  });

  it("is what the HTML report shows too", () => {
    expect(escapeHtml('<b title="x">\u001b[31m</b>')).toBe(
      "&lt;b title=&quot;x&quot;&gt;\\x1b[31m&lt;/b&gt;",
    );
  });
});
