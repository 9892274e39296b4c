/** Sample summaries: medians with min/max, and the rows a scenario reports. */

export interface Sample {
  /** Stable key the targets refer to, e.g. "b1.tsnerd.bridge". */
  key: string;
  label: string;
  unit: 'ms' | 'MiB' | 'ratio';
  values: number[];
  /** Set when the scenario failed; values then hold what was measured before. */
  error?: string;
  note?: string;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function fmt(n: number, unit: Sample['unit']): string {
  if (!Number.isFinite(n)) return '-';
  if (unit === 'ratio') return n.toFixed(2);
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

export function summary(s: Sample): { median: string; min: string; max: string; n: number } {
  if (s.values.length === 0) return { median: '-', min: '-', max: '-', n: 0 };
  return {
    median: fmt(median(s.values), s.unit),
    min: fmt(Math.min(...s.values), s.unit),
    max: fmt(Math.max(...s.values), s.unit),
    n: s.values.length,
  };
}
