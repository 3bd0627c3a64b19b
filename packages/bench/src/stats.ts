/** The median of a non-empty sample: robust to the odd round a neighbour process or a GC spoils. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Ours divided by theirs, or NaN when there is nothing to divide by. */
export function ratio(ours: number, theirs: number): number {
  return theirs > 0 && Number.isFinite(ours) ? ours / theirs : Number.NaN;
}

/** 1234567 -> "1,234,567"; NaN -> "n/a". */
export function fmtInt(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

/** A ratio with two decimals and an x, e.g. "1.53x"; "n/a" when not measured. */
export function fmtRatio(value: number | undefined): string {
  return value !== undefined && Number.isFinite(value) ? `${value.toFixed(2)}x` : 'n/a';
}
