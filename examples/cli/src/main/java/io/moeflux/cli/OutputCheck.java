package io.moeflux.cli;

import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.ReferenceModel;
import io.moeflux.pipeline.workload.SyntheticWorkload;

/**
 * Compares pipeline outputs with the reference: an output mismatches when any value differs by more
 * than 1e-5 relative (absolute below magnitude 1), or its shape or step differs.
 */
final class OutputCheck {
  static final double TOLERANCE = 1e-5;

  private long outputs;
  private long tokens;
  private long mismatches;
  private long bitwiseEqual;
  private double maxAbsDiff;

  /**
   * Compares {@code actual}, an output of {@code rank}, with what {@code reference} makes of that
   * rank's input of the same step in {@code workload}.
   */
  void compare(int rank, TokenBatch actual, ReferenceModel reference, SyntheticWorkload workload) {
    compare(actual, reference.forward(rank, workload.batch(rank, actual.step())));
  }

  synchronized void compare(TokenBatch actual, TokenBatch expected) {
    outputs++;
    tokens += expected.tokens();
    if (actual.step() != expected.step()
        || actual.tokens() != expected.tokens()
        || actual.hidden() != expected.hidden()) {
      mismatches++;
      return;
    }
    float[] a = actual.data();
    float[] e = expected.data();
    boolean bad = false;
    boolean same = true;
    for (int i = 0; i < e.length; i++) {
      double diff = Math.abs((double) a[i] - e[i]);
      maxAbsDiff = Math.max(maxAbsDiff, diff);
      if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(e[i])) {
        same = false;
      }
      if (!(diff <= TOLERANCE * Math.max(1.0, Math.abs(e[i])))) {
        bad = true;
      }
    }
    if (bad) {
      mismatches++;
    }
    if (same) {
      bitwiseEqual++;
    }
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
    return bitwiseEqual;
  }

  synchronized double maxAbsDiff() {
    return maxAbsDiff;
  }
}
