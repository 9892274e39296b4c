/** Columns padded as Go's tabwriter does for docker/nerdctl tables: each cell but the last gets its column width + padding. */
export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, padding = 4): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + padding)))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}
