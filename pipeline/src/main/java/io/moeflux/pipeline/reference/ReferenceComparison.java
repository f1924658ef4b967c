package io.moeflux.pipeline.reference;

import java.util.Objects;

/**
 * A result of one MoE block measured against its {@link Float64Output}.
 *
 * @param tokens tokens compared
 * @param mismatchedTokens tokens whose top-k ids (in order) differ from the reference's
 * @param maxWeightRelative the largest {@code |w - w_ref| / |w_ref|} over all top-k weights (0 when
 *     both are 0, infinity when only the reference's is)
 * @param maxOutputRelativeToRms the largest {@code |y - y_ref|} over all output elements, divided
 *     by the reference output's root mean square ({@code max_rel_err_vs_float64})
 * @param referenceRms the reference output's root mean square
 */
public record ReferenceComparison(
    int tokens,
    int mismatchedTokens,
    double maxWeightRelative,
    double maxOutputRelativeToRms,
    double referenceRms) {

  /**
   * Compares {@code hiddenStates} ({@code tokens × hidden}), {@code topkIds} and {@code
   * topkWeights} ({@code tokens × k}, row-major) with {@code reference}.
   *
   * @throws IllegalArgumentException when a length does not match the reference's shape
   */
  public static ReferenceComparison of(
      Float64Output reference, float[] hiddenStates, int[] topkIds, float[] topkWeights) {
    Objects.requireNonNull(reference, "reference");
    int tokens = reference.tokens();
    int k = reference.routing().topK();
    requireLength("hidden states", hiddenStates.length, (long) tokens * reference.hidden());
    requireLength("top-k ids", topkIds.length, (long) tokens * k);
    requireLength("top-k weights", topkWeights.length, (long) tokens * k);
    Float64Routing routing = reference.routing();
    int mismatched = 0;
    double weightError = 0;
    for (int t = 0; t < tokens; t++) {
      boolean same = true;
      for (int slot = 0; slot < k; slot++) {
        int i = t * k + slot;
        same &= topkIds[i] == routing.id(t, slot);
        weightError = Math.max(weightError, relative(topkWeights[i], routing.weight(t, slot)));
      }
      if (!same) {
        mismatched++;
      }
    }
    double maxAbs = 0;
    for (int i = 0; i < hiddenStates.length; i++) {
      double diff = Math.abs(hiddenStates[i] - reference.at(i));
      maxAbs = Double.isNaN(diff) ? Double.POSITIVE_INFINITY : Math.max(maxAbs, diff);
    }
    double rms = reference.rms();
    double outputError = maxAbs == 0 ? 0 : rms == 0 ? Double.POSITIVE_INFINITY : maxAbs / rms;
    return new ReferenceComparison(tokens, mismatched, weightError, outputError, rms);
  }

  private static double relative(double actual, double expected) {
    double diff = Math.abs(actual - expected);
    if (Double.isNaN(diff)) {
      return Double.POSITIVE_INFINITY;
    }
    if (diff == 0) {
      return 0;
    }
    return expected == 0 ? Double.POSITIVE_INFINITY : diff / Math.abs(expected);
  }

  private static void requireLength(String what, int actual, long expected) {
    if (actual != expected) {
      throw new IllegalArgumentException(
          what + " hold " + actual + " values, the reference " + expected);
    }
  }

  /** Ids all equal, weights and outputs within {@code tolerance}. */
  public boolean within(ReferenceTolerance tolerance) {
    return mismatchedTokens == 0
        && maxWeightRelative <= tolerance.weightRelative()
        && maxOutputRelativeToRms <= tolerance.outputRelativeToRms();
  }

  /** {@code 0 of 13 tokens with other ids, weights 2.1e-07 relative, outputs 3.4e-07 of RMS}. */
  public String describe() {
    return String.format(
        java.util.Locale.ROOT,
        "%d of %d tokens with other top-k ids, weights within %.2g relative, outputs within %.2g"
            + " of the output RMS (%.4g)",
        mismatchedTokens,
        tokens,
        maxWeightRelative,
        maxOutputRelativeToRms,
        referenceRms);
  }
}
