import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ensureDir, PathError, requireFile, writeFileAt } from "../../src/util/paths.ts";

const root = mkdtempSync(join(tmpdir(), "colt-paths-"));

function caught(f: () => void): PathError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PathError);
    return e as PathError;
  }
  throw new Error("no PathError");
}

describe("ensureDir", () => {
  it("creates missing parents and leaves no probe file behind", () => {
    const dir = join(root, "a", "b", "c");
    ensureDir(dir, "--out");
    expect(existsSync(dir)).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
    ensureDir(dir, "--out");
  });

  it("refuses a file, and a path below a file", () => {
    const file = join(root, "file");
    writeFileSync(file, "");
    expect(caught(() => ensureDir(file, "--out")).message).toBe(
      `--out ${file}: exists and is not a directory; give a directory you can write to`,
    );
    expect(caught(() => ensureDir(join(file, "x"), "--out")).problem).toBe(
      "a part of the path is not a directory",
    );
  });

  it.skipIf(process.getuid?.() === 0)("refuses a directory it cannot write in", () => {
    const locked = join(root, "locked");
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    expect(caught(() => ensureDir(locked, "--out")).problem).toMatch(/cannot write files in it/);
  });
});

describe("writeFileAt and requireFile", () => {
  it("name a directory where a file is expected", () => {
    expect(caught(() => writeFileAt(root, "x", "--out")).message).toBe(
      `--out ${root}: is a directory; give a file path you can write to`,
    );
    expect(caught(() => requireFile(root, "--schedule")).message).toBe(
      `--schedule ${root}: is a directory; give a file`,
    );
  });

  it("name a missing directory or file", () => {
    const missing = join(root, "nowhere", "f.html");
    expect(caught(() => writeFileAt(missing, "x", "--out")).problem).toBe(
      `its directory ${join(root, "nowhere")} does not exist`,
    );
    expect(caught(() => requireFile(missing, "--schedule")).problem).toBe("does not exist");
  });
});
