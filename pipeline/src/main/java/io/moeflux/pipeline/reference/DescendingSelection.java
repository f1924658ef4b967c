package io.moeflux.pipeline.reference;

import java.util.Arrays;

/**
 * Top-k selection in double precision: the k largest values in descending order, the lower index
 * first among equal values, and the smallest gap that decides that order.
 */
final class DescendingSelection {
  private DescendingSelection() {}

  /**
   * Writes the indices of the {@code k} largest of {@code values} into {@code into[at..at+k)},
   * largest first; among equal values the lower index comes first.
   */
  static void topK(double[] values, int k, int[] into, int at) {
    boolean[] taken = new boolean[values.length];
    for (int pick = 0; pick < k; pick++) {
      int best = -1;
      for (int i = 0; i < values.length; i++) {
        // Strictly greater: an equal value at a higher index never displaces the lower one.
        if (!taken[i] && (best < 0 || values[i] > values[best])) {
          best = i;
        }
      }
      taken[best] = true;
      into[at + pick] = best;
    }
  }

  /**
   * The smallest difference between neighbours among the {@code k + 1} largest values (the k chosen
   * ones in order, and the k-th against the first one left out): how far the choice and its order
   * are from a tie. Infinity when nothing is compared ({@code k == 1 == values.length}).
   */
  static double smallestGap(double[] values, int k) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    double gap = Double.POSITIVE_INFINITY;
    int n = sorted.length;
    for (int i = 0; i < k && i + 1 < n; i++) {
      gap = Math.min(gap, sorted[n - 1 - i] - sorted[n - 2 - i]);
    }
    return gap;
  }

  /** The difference between the {@code k}-th largest value and the next one; infinity if none. */
  static double boundaryGap(double[] values, int k) {
    if (k >= values.length) {
      return Double.POSITIVE_INFINITY;
    }
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return sorted[n - k] - sorted[n - k - 1];
  }
}
