/** The CLI's bundle of its sources: built once per state of the sources, never run stale. */
import { existsSync, mkdirSync, mkdtempSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { freshBundle } from "../../bin/bundle.js";

function project(version: string): string {
  const root = mkdtempSync(join(tmpdir(), "colt-bundle-"));
  mkdirSync(join(root, "src", "cli"), { recursive: true });
  mkdirSync(join(root, "src", "compare"), { recursive: true });
  writeFileSync(join(root, "src", "compare", "ort-worker.ts"), "export const worker = 1;\n");
  writeSource(root, version);
  return root;
}

function writeSource(root: string, version: string): void {
  writeFileSync(join(root, "src", "version.ts"), `export const version: string = "${version}";\n`);
  writeFileSync(
    join(root, "src", "cli", "main.ts"),
    'import { version } from "../version.ts";\nexport const main = (): string => version;\n',
  );
}

async function mainOf(bundle: string | undefined): Promise<string> {
  expect(bundle).toBeDefined();
  const m = (await import(pathToFileURL(bundle ?? "").href)) as { main: () => string };
  return m.main();
}

describe("the CLI's bundle", () => {
  it("bundles this project's sources, the ONNX Runtime worker beside the CLI", async () => {
    const bundle = await freshBundle();
    expect(bundle).toMatch(/node_modules\/\.cache\/colt-cli\/[0-9a-f]{16}\/main\.mjs$/);
    expect(existsSync(join(dirname(bundle ?? ""), "ort-worker.mjs"))).toBe(true);
  });

  it("is built once per state of the sources, and again when one changes", async () => {
    const root = project("one");
    const first = await freshBundle(root);
    expect(await mainOf(first)).toBe("one");
    const builtAt = statSync(first ?? "").mtimeMs;
    expect(await freshBundle(root)).toBe(first);
    expect(statSync(first ?? "").mtimeMs).toBe(builtAt);

    writeSource(root, "two");
    const second = await freshBundle(root);
    expect(second).not.toBe(first);
    expect(await mainOf(second)).toBe("two");
    // A process started from the first bundle may still be running: kept for a day.
    expect(existsSync(first ?? "")).toBe(true);

    const dayOld = Date.now() / 1000 - 2 * 24 * 3600;
    utimesSync(dirname(first ?? ""), dayOld, dayOld);
    writeSource(root, "three");
    expect(await mainOf(await freshBundle(root))).toBe("three");
    expect(existsSync(first ?? "")).toBe(false);
    expect(existsSync(second ?? "")).toBe(true);
  });

  it("is not built from sources that do not compile (the CLI then runs them through tsx)", async () => {
    const root = project("one");
    writeFileSync(join(root, "src", "version.ts"), "export const version = ;\n");
    expect(await freshBundle(root)).toBeUndefined();
  });
});
