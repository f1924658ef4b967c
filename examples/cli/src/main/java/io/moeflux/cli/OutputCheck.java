package io.moeflux.cli;

import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.ReferenceModel;
import io.moeflux.pipeline.workload.SyntheticWorkload;

/**
 * Compares pipeline outputs with the reference bit for bit, for the synthetic model and checkpoint
 * models alike. An output mismatches when it is not the step expected next, its shape, stage or
 * layer differs, or any hidden value, top-k expert id or top-k weight differs in any bit. Records
 * the largest differences seen, so a report says how far off a mismatch was.
 */
final class OutputCheck {
  private long outputs;
  private long tokens;
  private long mismatches;
  private long topkIdDifferences;
  private double maxAbsDiff;
  private double maxWeightDiff;

  /**
   * Compares {@code actual}, which should be {@code rank}'s output of step {@code step}, with what
   * {@code reference} makes of that rank's input of that step in {@code workload}.
   */
  void compare(
      long step,
      int rank,
      TokenBatch actual,
      ReferenceModel reference,
      SyntheticWorkload workload) {
    compare(step, actual, reference.forward(rank, workload.batch(rank, step)));
  }

  /**
   * Compares {@code actual}, which should be the output of step {@code expectedStep}, with {@code
   * expected}, the reference output for that step. Returns true when they are bitwise equal.
   */
  synchronized boolean compare(long expectedStep, TokenBatch actual, TokenBatch expected) {
    outputs++;
    tokens += expected.tokens();
    boolean same =
        actual.step() == expectedStep
            && expected.step() == expectedStep
            && actual.tokens() == expected.tokens()
            && actual.hidden() == expected.hidden()
            && actual.prefill() == expected.prefill()
            && actual.layer() == expected.layer()
            && actual.topkIds().length == expected.topkIds().length;
    if (same) {
      maxAbsDiff = Math.max(maxAbsDiff, largestDifference(actual.data(), expected.data()));
      maxWeightDiff =
          Math.max(maxWeightDiff, largestDifference(actual.topkWeights(), expected.topkWeights()));
      same = bitwiseEqual(actual.data(), expected.data());
      same &= bitwiseEqual(actual.topkWeights(), expected.topkWeights());
      int[] a = actual.topkIds();
      int[] e = expected.topkIds();
      for (int i = 0; i < e.length; i++) {
        if (a[i] != e[i]) {
          topkIdDifferences++;
          same = false;
        }
      }
    }
    if (!same) {
      mismatches++;
    }
    return same;
  }

  /** Counts an output that is not checked. */
  synchronized void count(TokenBatch actual) {
    outputs++;
    tokens += actual.tokens();
  }

  private static boolean bitwiseEqual(float[] a, float[] e) {
    for (int i = 0; i < e.length; i++) {
      if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(e[i])) {
        return false;
      }
    }
    return true;
  }

  /** The largest |a - e| over arrays of equal length; infinite where a value is not a number. */
  private static double largestDifference(float[] a, float[] e) {
    double largest = 0;
    for (int i = 0; i < e.length; i++) {
      double diff = Math.abs((double) a[i] - e[i]);
      largest = Math.max(largest, Double.isNaN(diff) ? Double.POSITIVE_INFINITY : diff);
    }
    return largest;
  }

  synchronized long outputs() {
    return outputs;
  }

  synchronized long tokens() {
    return tokens;
  }

  synchronized long mismatches() {
    return mismatches;
  }

  synchronized long bitwiseEqual() {
    return outputs - mismatches;
  }

  /** Top-k expert ids that differ from the reference's, over every output. */
  synchronized long topkIdDifferences() {
    return topkIdDifferences;
  }

  /** The largest difference of a hidden value from the reference's. */
  synchronized double maxAbsDiff() {
    return maxAbsDiff;
  }

  /** The largest difference of a top-k weight from the reference's. */
  synchronized double maxWeightDiff() {
    return maxWeightDiff;
  }

  /** The JSON fields every checking command reports. */
  synchronized JsonLine putInto(JsonLine json) {
    return json.put("tokens", tokens)
        .put("outputs", outputs)
        .put("max_abs_diff", maxAbsDiff)
        .put("max_weight_diff", maxWeightDiff)
        .put("topk_id_differences", topkIdDifferences)
        .put("mismatches", mismatches)
        .put("bitwise_equal", outputs - mismatches);
  }
}
