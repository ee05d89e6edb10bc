/** A made-up machine and compiler, and a run recorded on them, for tests of the tuning database. */
import type { Db } from "../../src/db/database.ts";
import { createRun, ensureCompiler, ensureProfile } from "../../src/db/records.ts";
import type { MachineProfile } from "../../src/measure/profile.ts";

export const TEST_PROFILE: MachineProfile = {
  cpuModel: "test cpu",
  cores: 2,
  compiler: "cc 1",
  peakFlopsPerCore: 1e11,
  bandwidthPerCore: 1e10,
  cacheBytesPerCore: 1 << 20,
  calibratedAt: "now",
};

export const TEST_COMPILER = { command: "cc", version: "1", flags: ["-O3"] };

/** A COLT run (seed 1) of the workload on the test machine and compiler. */
export function testRun(db: Db, workloadId: number, threads: number, settings: object): string {
  return createRun(db, {
    workloadId,
    profileId: ensureProfile(db, TEST_PROFILE),
    compilerId: ensureCompiler(db, TEST_COMPILER),
    strategy: "colt",
    seed: 1,
    threads,
    settings,
  });
}
