package io.moeflux.cli;

import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.ReferenceModel;
import io.moeflux.pipeline.workload.SyntheticWorkload;
import java.util.Arrays;

/**
 * Compares pipeline outputs with the reference: an output mismatches when any value differs by more
 * than 1e-5 relative (absolute below magnitude 1), or its shape or step differs. A bitwise check
 * ({@link #bitwise()}, for checkpoint models) also counts as a mismatch any output whose values,
 * expert ids, weights or layer are not exactly the reference's.
 */
final class OutputCheck {
  static final double TOLERANCE = 1e-5;

  private final boolean bitwise;

  private long outputs;
  private long tokens;
  private long mismatches;
  private long bitwiseEqual;
  private double maxAbsDiff;

  OutputCheck() {
    this(false);
  }

  private OutputCheck(boolean bitwise) {
    this.bitwise = bitwise;
  }

  /** A check that counts every output that is not bitwise equal as a mismatch. */
  static OutputCheck bitwise() {
    return new OutputCheck(true);
  }

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
    if (bitwise
        && !(Arrays.equals(actual.topkIds(), expected.topkIds())
            && Arrays.equals(actual.topkWeights(), expected.topkWeights())
            && actual.layer() == expected.layer())) {
      same = false;
    }
    if (bad || (bitwise && !same)) {
      mismatches++;
    }
    if (same) {
      bitwiseEqual++;
    }
  }

  /** Counts an output that is not checked. */
  synchronized void count(TokenBatch actual) {
    outputs++;
    tokens += actual.tokens();
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
