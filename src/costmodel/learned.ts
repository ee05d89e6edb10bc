/**
 * The learned cost model: the analytic estimate times a correction learned online.
 *
 * A gradient-boosted tree ensemble is fitted to log(measured / analytic) from the
 * schedule features, and refitted on every observation. Until MIN_SAMPLES measurements
 * exist the model is the analytic estimate times the mean correction measured so far
 * (the machine's scale, the same for every schedule); after, the learned part is weighted by
 * n / (n + HALF_WEIGHT_SAMPLES), so a few samples cannot override it. For a schedule
 * whose features fall outside what the model was trained on (another workload, an unseen
 * kind of schedule) the learned part is shrunk towards the average correction, so the
 * prediction falls back to the calibrated analytic estimate instead of extrapolating
 * from trees.
 */
import type { MachineProfile } from "../measure/profile.ts";
import type { Program } from "../ir/program.ts";
import type { Schedule } from "../schedule/schedule.ts";
import { analyticEstimateMs } from "./analytic.ts";
import type { CostModel, CostSample } from "./cost-model.ts";
import { extractFeatures } from "./features.ts";
import { GradientBoostedTrees, type GbdtOptions } from "./gbdt.ts";

/** Samples needed before the learned correction is used. */
export const MIN_SAMPLES = 8;
/** Feature indices that identify the workload and its size (log FLOPs, log bytes). */
const WORKLOAD_FEATURES = [0, 1];
/** Samples at which the learned part gets half its weight (few samples: trust the analytic). */
const HALF_WEIGHT_SAMPLES = 15;
/** Bounds of the predicted correction, in natural log units (a factor of ~e^6 = 400). */
const MAX_LOG_CORRECTION = 6;

export interface LearnedCostModelOptions {
  readonly profile: MachineProfile;
  readonly seed: number;
  /** Cores the kernels run on (as measured); default 1. */
  readonly threads?: number;
  /** Overrides of the tree ensemble's settings. */
  readonly gbdt?: Partial<GbdtOptions>;
}

interface Encoded {
  readonly features: number[];
  readonly analyticMs: number;
  /** Natural log of the analytic estimate in ms. */
  readonly logAnalytic: number;
}

export class LearnedCostModel implements CostModel {
  private readonly profile: MachineProfile;
  private readonly threads: number;
  private readonly seed: number;
  private readonly gbdtOptions: Partial<GbdtOptions>;
  /**
   * By program, then trace: proposers rebuild the same candidates as new Schedule objects
   * call after call, and the analytic part never changes, so each one is analysed once.
   */
  private readonly encoded = new WeakMap<Program, Map<string, Encoded>>();
  private readonly x: number[][] = [];
  /** log(measured) - log(analytic) per sample. */
  private readonly y: number[] = [];
  private model: GradientBoostedTrees | undefined;
  private analysed = 0;
  private meanCorrection = 0;
  private lo: number[] = [];
  private hi: number[] = [];

  constructor(options: LearnedCostModelOptions) {
    this.profile = options.profile;
    this.threads = options.threads ?? 1;
    this.seed = options.seed;
    this.gbdtOptions = options.gbdt ?? {};
  }

  get sampleCount(): number {
    return this.y.length;
  }

  /** Programs analysed so far (each program and trace once). */
  get analysedCount(): number {
    return this.analysed;
  }

  predictMs(schedule: Schedule): number {
    const e = this.encode(schedule);
    // Too few samples for trees, but enough to calibrate the analytic estimate's scale, so
    // predictions can be compared with the measured times the search mixes them with.
    if (!this.model)
      return this.y.length > 0 ? Math.exp(e.logAnalytic + this.meanCorrection) : e.analyticMs;
    const learned = clamp(this.model.predict(e.features), MAX_LOG_CORRECTION);
    const n = this.y.length;
    const trust = this.trust(e.features) * (n / (n + HALF_WEIGHT_SAMPLES));
    const ms = Math.exp(
      e.logAnalytic + this.meanCorrection + trust * (learned - this.meanCorrection),
    );
    return Number.isFinite(ms) && ms > 0 ? ms : e.analyticMs;
  }

  observe(samples: readonly CostSample[]): void {
    let added = 0;
    for (const s of samples) {
      if (!(Number.isFinite(s.ms) && s.ms > 0)) continue;
      const e = this.encode(s.schedule);
      this.x.push(e.features);
      this.y.push(clamp(Math.log(s.ms) - e.logAnalytic, 4 * MAX_LOG_CORRECTION));
      added++;
    }
    if (added > 0) this.retrain();
  }

  /** The features the model sees for a schedule (cached per trace). */
  features(schedule: Schedule): readonly number[] {
    return this.encode(schedule).features;
  }

  private encode(schedule: Schedule): Encoded {
    let byTrace = this.encoded.get(schedule.program);
    if (!byTrace) {
      byTrace = new Map();
      this.encoded.set(schedule.program, byTrace);
    }
    const key = schedule.text();
    let e = byTrace.get(key);
    if (!e) {
      const analytic = analyticEstimateMs(schedule, this.profile, this.threads);
      e = {
        features: extractFeatures(schedule, this.profile, this.threads),
        analyticMs: analytic,
        logAnalytic: Math.log(analytic),
      };
      byTrace.set(key, e);
      this.analysed++;
    }
    return e;
  }

  private retrain(): void {
    const n = this.y.length;
    this.meanCorrection = this.y.reduce((a, b) => a + b, 0) / Math.max(n, 1);
    const d = this.x[0]?.length ?? 0;
    this.lo = new Array<number>(d).fill(Infinity);
    this.hi = new Array<number>(d).fill(-Infinity);
    for (const row of this.x) {
      for (let j = 0; j < d; j++) {
        if (row[j] < this.lo[j]) this.lo[j] = row[j];
        if (row[j] > this.hi[j]) this.hi[j] = row[j];
      }
    }
    if (n < MIN_SAMPLES) {
      this.model = undefined;
      return;
    }
    // Few samples: shallower trees with larger leaves, so the fit does not chase noise.
    const small = n < 40;
    this.model = GradientBoostedTrees.fit(this.x, this.y, {
      seed: this.seed,
      depth: small ? 2 : 4,
      minLeaf: small ? 2 : 3,
      trees: small ? 60 : 100,
      ...this.gbdtOptions,
    });
  }

  /**
   * How far to trust the learned correction for these features: 1 inside the training
   * range, less the more features fall outside it, halved for an unseen workload size.
   */
  private trust(f: readonly number[]): number {
    let outside = 0;
    for (let j = 0; j < f.length; j++) {
      const margin = 0.1 * (this.hi[j] - this.lo[j]) + 1e-9;
      if (f[j] < this.lo[j] - margin || f[j] > this.hi[j] + margin) outside++;
    }
    let trust = Math.min(1, Math.max(0, 1 - (2 * outside) / Math.max(f.length, 1)));
    const unseen = WORKLOAD_FEATURES.some(
      (j) => f[j] < this.lo[j] - 0.5 || f[j] > this.hi[j] + 0.5,
    );
    if (unseen) trust *= 0.5;
    return trust;
  }
}

function clamp(x: number, bound: number): number {
  if (Number.isNaN(x)) return 0;
  return Math.min(bound, Math.max(-bound, x));
}
