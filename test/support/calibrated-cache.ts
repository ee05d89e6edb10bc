/**
 * Fresh cache directories that already hold the machine profile the test run calibrated
 * once (calibrate-once.ts), so a test that measures does not calibrate again. Tests of the
 * calibration itself take an empty directory instead.
 */
import { copyFileSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";

export function calibratedCacheDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const from = inject("profileDir");
  for (const file of readdirSync(from).filter((f) => f.startsWith("machine-profile-")))
    copyFileSync(join(from, file), join(dir, file));
  return dir;
}
