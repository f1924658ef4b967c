package io.moeflux.pipeline.model;

import io.moeflux.pipeline.kernel.ExpertKernel;
import io.moeflux.pipeline.kernel.PackedExpert;
import io.moeflux.pipeline.kernel.WeightMatrix;
import java.util.Objects;

/**
 * The synthetic SwiGLU expert: its float32 weights, generated {@code [in, out]} ({@link
 * ExpertWeights}), packed once by an {@link ExpertKernel} and computed by it. The packed copy is
 * the only one kept; {@link #weights()} reads the weights back from it for migration.
 */
final class SwigluExpert extends PackedSwigluFfn {
  SwigluExpert(ExpertWeights weights, ExpertKernel kernel) {
    super(
        pack(Objects.requireNonNull(weights, "weights"), Objects.requireNonNull(kernel, "kernel")));
  }

  private static PackedExpert pack(ExpertWeights weights, ExpertKernel kernel) {
    int h = weights.hidden();
    int n = weights.intermediate();
    return kernel.pack(
        WeightMatrix.ofFloats(n, h, WeightMatrix.Layout.IN_OUT, weights.gate()),
        WeightMatrix.ofFloats(n, h, WeightMatrix.Layout.IN_OUT, weights.up()),
        WeightMatrix.ofFloats(h, n, WeightMatrix.Layout.IN_OUT, weights.down()));
  }

  /** The weights, read back from the packed copy into a new instance (bit for bit). */
  @Override
  public ExpertWeights weights() {
    return ExpertWeights.of(packed());
  }
}
