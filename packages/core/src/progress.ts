/** Progress events of long calls. Only the CLI and the demo page render them; core never prints. */
export type ProgressEvent =
  | {
      stage: 'train';
      epoch: number;
      epochs: number;
      batch: number;
      batches: number;
      loss: number;
      imagesPerSec: number;
    }
  | {
      stage: 'epoch';
      epoch: number;
      epochs: number;
      trainLoss: number;
      valLoss: number;
      best: boolean;
      seconds: number;
    }
  | { stage: 'embed' | 'load' | 'index' | 'dedup' | 'metadata' | 'sync'; done: number; total?: number }
  | { stage: 'kmeans'; iteration: number; inertia: number }
  | { stage: 'warning'; code: string; message: string };

/** The options every long call takes. */
export interface LongRunning {
  /** Called with progress events; keep it cheap. */
  onProgress?: (event: ProgressEvent) => void;
  /**
   * Stops the call at its next safe point (a batch boundary for training and embedding, an iteration for clustering),
   * which then throws an `AbortedError` (code `ABORTED`).
   */
  signal?: AbortSignal;
}
