package io.moeflux.cli.bench;

import java.util.Arrays;

/** Nearest-rank percentiles of a set of samples. */
public final class Percentiles {
  private final long[] sorted;

  public Percentiles(long[] samples, int count) {
    this.sorted = Arrays.copyOf(samples, count);
    Arrays.sort(sorted);
  }

  /** The p-th percentile (0 < p <= 100), 0 when there are no samples. */
  public long at(double p) {
    if (sorted.length == 0) {
      return 0;
    }
    int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
  }
}
