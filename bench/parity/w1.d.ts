/** Types of bench/parity/w1.js, so test/train/parity.test.ts can import it under `tsc --noEmit`. */
export declare const PYTHON: string;
export declare const F32_RUNS: readonly string[];
export declare const TOLERANCE: {
  teacherLoss: number;
  teacherGradMedian: number;
  teacherGradMax: number;
  gradJump: number;
  freeLoss: number;
};

export interface Check {
  value?: number;
  bound?: number;
  ok: boolean;
}

export interface ParityReport {
  steps: number;
  batch: number;
  lr: number;
  seed: number;
  threads: number;
  backend: string;
  nodegrad: { losses: number[]; ms: number };
  fitBitIdentical: boolean;
  fitMismatchedElements: number;
  /** Set when PyTorch is missing: why the torch side was skipped. */
  skipped?: string;
  torch?: { version: string; ms: number; variants: Record<string, { losses: number[]; dtype: string }> };
  teacher?: {
    lossMax: number; lossMaxTorch32: number; gradMedian: number; gradMedianTorch32: number;
    gradMax: number; gradMaxTorch32: number; gradJumpSteps: number; gradJumpStepsTorch32: number;
  };
  envelope?: { loss: number; weights: number };
  epsilonConvention?: { loss: number; weights: number };
  verdict?: Record<'teacherLoss' | 'teacherGradMedian' | 'teacherGradMax' | 'freeLoss' | 'fit', Check>;
  ok?: boolean;
}

export interface ParityOptions {
  steps?: number;
  batch?: number;
  lr?: number;
  seed?: number;
  keep?: boolean;
}

/** Why /usr/bin/python3 cannot run the torch side, or null when it can. */
export declare function torchMissing(): string | null;
/** The parity run with the nodegrad module `ng` (the package's exports: dist/ or src/). */
export declare function runParity(ng: unknown, opts?: ParityOptions): Promise<ParityReport>;
export declare function formatReport(r: ParityReport): string;
