import type { BenchContext } from './context.js';
import type { ScaleRow } from './report.js';

export interface ScaleResult {
  rows: ScaleRow[];
  details: Record<string, unknown>;
}

export async function measureScale(ctx: BenchContext): Promise<ScaleResult> {
  void ctx;
  throw new Error('not yet');
}
