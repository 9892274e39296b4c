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

/** `num ≤ limit × den`. */
export function ratio(num: string, den: string, limit: number, id: string, text: string): Target {
  return ratioToSum(num, [den], limit, id, text);
}

/** The sum of the medians of keys, or why one is missing. */
function sumOfMedians(r: Results, keys: readonly string[]): number | string {
  let total = 0;
  for (const k of keys) {
    const m = r.median(k);
    if (typeof m === 'string') return m;
    total += m;
  }
  return total;
}

/** `sum(lhs) ≤ sum(rhs) + plus`: measured value is the difference. */
export function overhead(lhs: string[], rhs: string[], plus: number, id: string, text: string): Target {
  return {
    id,
    text,
    limit: plus,
    measure: (r) => {
      const a = sumOfMedians(r, lhs);
      const b = sumOfMedians(r, rhs);
      if (typeof a === 'string') return { missing: a };
      if (typeof b === 'string') return { missing: b };
      return { value: a - b, shown: `${a - b >= 0 ? '+' : ''}${(a - b).toFixed(0)} ms (${a.toFixed(0)} vs ${b.toFixed(0)})` };
    },
  };
}

export function atMost(key: string, limit: number, id: string, text: string, unit = 'ms'): Target {
  return {
    id,
    text,
    limit,
    measure: (r) => {
      const m = r.median(key);
      return typeof m === 'string' ? { missing: m } : { value: m, shown: `${m.toFixed(unit === 'ms' ? 0 : 1)} ${unit}` };
    },
  };
}

/** `num ≤ limit × sum(dens)`: the floor of one run is a sum of medians measured in the same bench run. */
export function ratioToSum(num: string, dens: string[], limit: number, id: string, text: string): Target {
  return {
    id,
    text,
    limit,
    measure: (r) => {
      const a = r.median(num);
      if (typeof a === 'string') return { missing: a };
      const b = sumOfMedians(r, dens);
      if (typeof b === 'string') return { missing: b };
      return { value: a / b, shown: `${(a / b).toFixed(2)} (${fmt(a, 'ms')} / ${fmt(b, 'ms')})` };
    },
  };
}

/** The floor of `run --rm --net bridge -p`: `ctr run --rm` on the same image plus the raw chain's ADD and DEL. */
export const FLOOR_KEYS = ['b1.ctr.none', 'b2.raw.add', 'b2.raw.del'];

/** Issue 14's goals (medians, ratios within one bench run), and the earlier ones still tracked. */
export function targets(scaleRuns: number): Target[] {
  return [
    ratioToSum('b1.tsnerd.bridge', FLOOR_KEYS, 1.3, 'B1', 'run --rm --net bridge -p ≤ 1.3 × floor (ctr run --rm + raw ADD + raw DEL)'),
    ratio('b1.tsnerd.none', 'b1.ctr.none', 1.6, 'B1', 'run --rm --net none ≤ 1.6 × ctr run --rm'),
    overhead(['b2.hook.create'], ['b2.raw.add'], 40, 'B2', 'createRuntime hook ≤ raw ADD chain + 40 ms (hook server running)'),
    overhead(['b2.hook.poststop'], ['b2.raw.del'], 30, 'B2', 'postStop hook ≤ raw DEL chain + 30 ms (hook server running)'),
    overhead(['b2.hookcold.create'], ['b2.raw.add'], 40, 'B2', 'createRuntime hook ≤ raw ADD chain + 40 ms, cold (no hook server)'),
    overhead(['b2.hookcold.poststop'], ['b2.raw.del'], 30, 'B2', 'postStop hook ≤ raw DEL chain + 30 ms, cold (no hook server)'),
    // one goal, two pairings: like with like, default networks without DNS and user networks with it
    ratio(
      'b4.bridge.tsnerd',
      'b4.bridge.podman',
      1.5,
      'B4',
      'BENCH_CONCURRENCY (32) concurrent run -d ≤ 1.5 × podman, default networks (--net bridge, no DNS)',
    ),
    ratio(
      'b4.dns.tsnerd',
      'b4.dns.podman',
      1.5,
      'B4',
      "BENCH_CONCURRENCY (32) concurrent run -d ≤ 1.5 × podman, user networks with DNS (tsnerd's resolver, aardvark-dns)",
    ),
    ...Array.from({ length: scaleRuns }, (_, i) =>
      ratio(
        `b3.last10.${i + 1}`,
        `b3.first10.${i + 1}`,
        1.25,
        'B3',
        `run -d: last 10 / first 10 of BENCH_SCALE (200) ≤ 1.25, run ${i + 1} of ${scaleRuns}`,
      ),
    ),
    atMost('mem.tsnerd', 80, 'MEM', "tsnerd's own RSS with BENCH_MEM (100) running containers publishing one port each ≤ 80 MB", 'MiB'),
    atMost('b3.ls500', 250, 'B3', 'network ls with BENCH_NETWORKS (500) networks ≤ 250 ms'),
    // The node hook process's peak: a cold hook (the client execs it); a served hook's is perl's.
    atMost('rss.hookcold.create', 80, 'RSS', 'createRuntime hook peak RSS ≤ 80 MB (cold: the node hook process)', 'MiB'),
  ];
}

export interface TargetRow {
  id: string;
  text: string;
  measured: string;
  verdict: 'met' | 'missed' | 'n/a';
}

export function evaluate(r: Results, scaleRuns: number): TargetRow[] {
  return targets(scaleRuns).map((t) => {
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
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
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
