// Layer flow: domain (pure). Percentiles by the nearest-rank method: the p-th percentile of N ascending values
// is the value at rank ceil(p/100 × N), so it is always an observed value, never an interpolation.

/**
 * The nearest-rank percentile of `sorted` (ascending): the smallest value such that at least `percent`% of
 * the values are less than or equal to it. Undefined for no values; percent 0 gives the minimum.
 */
export function nearestRank(sorted: readonly number[], percent: number): number | undefined {
  if (!(percent >= 0 && percent <= 100))
    throw new RangeError(`percent must be within 0..100, got ${percent}`);
  if (sorted.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil((percent * sorted.length) / 100));
  return sorted[rank - 1];
}
