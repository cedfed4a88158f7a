/**
 * Model.summary()'s text, in Keras' layout: one row per layer with "name (Class)", output shape as
 * (None, 26, 26, 32) and parameter count, a "Connected to" column for functional models, then the totals
 * (total / trainable / non-trainable, with their float32 size as Keras 3 prints it). Columns are as wide as
 * their widest cell, so long names never wrap.
 */

export interface SummaryRow {
  layer: string;
  outputShape: string;
  params: number;
  connectedTo?: string[];
}

export interface SummaryTotals {
  total: number;
  trainable: number;
  nonTrainable: number;
}

/** 104202 -> "104,202". */
export function withCommas(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Keras 3 readable_memory_size: 1024-based units, two decimals. */
export function readableBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(2)} ${units[u]}`;
}

export function formatSummary(title: string, rows: readonly SummaryRow[], totals: SummaryTotals, connected: boolean): string {
  const headers = connected ? ['Layer (type)', 'Output Shape', 'Param #', 'Connected to'] : ['Layer (type)', 'Output Shape', 'Param #'];
  // A row with several inputs lists one per line in the last column.
  const cells: string[][] = [];
  for (const r of rows) {
    const first = [r.layer, r.outputShape, withCommas(r.params)];
    const links = r.connectedTo ?? [];
    if (connected) first.push(links[0] ?? '-');
    cells.push(first);
    if (connected) for (const l of links.slice(1)) cells.push(['', '', '', l]);
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: readonly string[]): string =>
    ' ' + c.map((v, i) => (i === 2 ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('   ').trimEnd();
  const total = widths.reduce((a, b) => a + b, 0) + 3 * (widths.length - 1) + 2;
  const out = [`Model: "${title}"`, '_'.repeat(total), line(headers), '='.repeat(total)];
  for (const c of cells) out.push(line(c));
  out.push('='.repeat(total));
  out.push(`Total params: ${withCommas(totals.total)} (${readableBytes(totals.total * 4)})`);
  out.push(`Trainable params: ${withCommas(totals.trainable)} (${readableBytes(totals.trainable * 4)})`);
  out.push(`Non-trainable params: ${withCommas(totals.nonTrainable)} (${readableBytes(totals.nonTrainable * 4)})`);
  out.push('_'.repeat(total));
  return out.join('\n');
}
