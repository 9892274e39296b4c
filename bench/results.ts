/** Collected samples, the targets evaluated on them, and their rendering. */
import { fmt, median, summary, type Sample } from './stats.ts';

export interface Target {
  id: string;
  text: string;
  /** Measured value: a sample's median, or a ratio/difference of two medians. */
  measure(r: Results): { value: number; shown: string } | { missing: string };
  limit: number;
}

export class Results {
  readonly samples = new Map<string, Sample>();

  add(s: Sample): void {
    this.samples.set(s.key, s);
  }

  /** Records a failed scenario without aborting the run. */
  fail(key: string, label: string, err: unknown, unit: Sample['unit'] = 'ms'): void {
    const prev = this.samples.get(key);
    this.add({ key, label, unit, values: prev?.values ?? [], error: errorText(err) });
  }

  median(key: string): number | string {
    const s = this.samples.get(key);
    if (!s) return `${key}: not run`;
    if (s.error) return `${s.label}: failed: ${s.error}`;
    if (s.values.length === 0) return `${s.label}: no samples`;
    return median(s.values);
  }
}

export function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.slice(0, 200);
}

export function ratio(num: string, den: string, limit: number, id: string, text: string): Target {
  return {
    id, text, limit,
    measure: (r) => {
      const a = r.median(num);
      const b = r.median(den);
      if (typeof a === 'string') return { missing: a };
      if (typeof b === 'string') return { missing: b };
      return { value: a / b, shown: `${(a / b).toFixed(2)} (${fmt(a, 'ms')} / ${fmt(b, 'ms')})` };
    },
  };
}

/** `sum(lhs) ≤ sum(rhs) + plus`: measured value is the difference. */
export function overhead(lhs: string[], rhs: string[], plus: number, id: string, text: string): Target {
  return {
    id, text, limit: plus,
    measure: (r) => {
      const sum = (keys: string[]) => {
        let total = 0;
        for (const k of keys) {
          const m = r.median(k);
          if (typeof m === 'string') return m;
          total += m;
        }
        return total;
      };
      const a = sum(lhs);
      const b = sum(rhs);
      if (typeof a === 'string') return { missing: a };
      if (typeof b === 'string') return { missing: b };
      return { value: a - b, shown: `${a - b >= 0 ? '+' : ''}${(a - b).toFixed(0)} ms (${a.toFixed(0)} vs ${b.toFixed(0)})` };
    },
  };
}

export function atMost(key: string, limit: number, id: string, text: string, unit = 'ms'): Target {
  return {
    id, text, limit,
    measure: (r) => {
      const m = r.median(key);
      return typeof m === 'string' ? { missing: m } : { value: m, shown: `${m.toFixed(unit === 'ms' ? 0 : 1)} ${unit}` };
    },
  };
}

export const TARGETS: Target[] = [
  ratio('b1.tsnerd.bridge', 'b1.ctr.cni', 1.3, 'B1', 'tsnerd run --net bridge -p ≤ 1.3 × ctr run --cni'),
  ratio('b1.tsnerd.bridge', 'b1.podman.bridge', 0.6, 'B1', 'tsnerd run --net bridge -p ≤ 0.6 × podman run --network bridge -p'),
  ratio('b1.tsnerd.none', 'b1.ctr.none', 1.5, 'B1', 'tsnerd run --net none ≤ 1.5 × ctr run'),
  overhead(['b2.hook.create'], ['b2.raw.add'], 60, 'B2', 'createRuntime hook ≤ raw CNI ADD chain + 60 ms'),
  overhead(['b2.hook.create', 'b2.hook.poststop'], ['b2.raw.add', 'b2.raw.del'], 60, 'B2', 'createRuntime + postStop hooks ≤ raw ADD + DEL + 60 ms'),
  ratio('b3.last10', 'b3.first10', 1.25, 'B3', 'run -d: last 10 / first 10 of BENCH_SCALE (200) ≤ 1.25'),
  atMost('b3.ls500', 250, 'B3', 'network ls with BENCH_NETWORKS (500) networks ≤ 250 ms'),
  ratio('b4.tsnerd', 'b4.podman', 0.7, 'B4', 'BENCH_CONCURRENCY (32) concurrent run -d ≤ 0.7 × podman'),
  atMost('rss.hook.create', 80, 'RSS', 'createRuntime hook peak RSS ≤ 80 MB', 'MiB'),
];

export interface TargetRow {
  id: string;
  text: string;
  measured: string;
  verdict: 'met' | 'missed' | 'n/a';
}

export function evaluate(r: Results): TargetRow[] {
  return TARGETS.map((t) => {
    const m = t.measure(r);
    if ('missing' in m) return { id: t.id, text: t.text, measured: m.missing, verdict: 'n/a' };
    return { id: t.id, text: t.text, measured: m.shown, verdict: m.value <= t.limit ? 'met' : 'missed' };
  });
}

export function sampleTable(r: Results): string[][] {
  const rows = [['scenario', 'median', 'min', 'max', 'n', 'note']];
  for (const s of r.samples.values()) {
    const sum = summary(s);
    const unit = s.unit === 'ratio' ? '' : ` ${s.unit}`;
    const note = s.error ? `failed: ${s.error}` : (s.note ?? '');
    rows.push([s.label, sum.median === '-' ? '-' : `${sum.median}${unit}`, sum.min, sum.max, String(sum.n), note]);
  }
  return rows;
}

export function textTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function markdownTable(rows: string[][]): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  const [head, ...body] = rows;
  return [
    `| ${head!.map(esc).join(' | ')} |`,
    `|${head!.map(() => '---').join('|')}|`,
    ...body.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}
