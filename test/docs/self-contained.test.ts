import { execFileSync } from "node:child_process";
import { lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Pointers to the design frame that lived next to the repository, which a user who clones
 * COLT does not have: the sibling directory, and the frame's file name (docs/design.md is
 * the repository's own, in lower case).
 */
const OUTSIDE_REFERENCES = [/\.\.\/shared\b/, /\bDESIGN\.md\b/];

/** Tracked files and new ones not ignored, so a file is checked before its first commit. */
function projectFiles(): string[] {
  const out = execFileSync(
    "git",
    ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  );
  return [...new Set(out.split("\0"))].filter(
    (f) => f !== "" && !f.startsWith(".ci/") && isFile(join(ROOT, f)),
  );
}

function isFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch (e) {
    // Tracked but deleted in the working tree: nothing to read.
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}

describe("the repository is self-contained", () => {
  it("lists the project's files", () => {
    const files = projectFiles();
    expect(files).toContain("README.md");
    expect(files).toContain("docs/design.md");
  });

  it("no file outside .ci refers to the design frame outside the repository", () => {
    const offending: string[] = [];
    for (const file of projectFiles()) {
      readFileSync(join(ROOT, file), "utf8")
        .split("\n")
        .forEach((line, i) => {
          if (OUTSIDE_REFERENCES.some((re) => re.test(line)))
            offending.push(`${file}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offending).toEqual([]);
  });
});
