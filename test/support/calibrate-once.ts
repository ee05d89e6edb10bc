/**
 * Vitest's global setup: calibrates this machine's profile once for the whole test run
 * (peak, memory streams; 7-15 s on a 2-core virtual machine) in a directory of its own,
 * which test files copy into their fresh cache directories (calibrated-cache.ts). Each
 * file calibrating for itself took a fifth of the suite's time.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { detectCompiler } from "../../src/measure/compiler.ts";
import { machineProfile } from "../../src/measure/profile.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** The directory holding the run's calibrated machine profile. */
    profileDir: string;
  }
}

export default async function calibrateOnce(project: TestProject): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "colt-test-profile-"));
  await machineProfile(detectCompiler(), dir);
  project.provide("profileDir", dir);
}
