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
final class SwigluExpert implements ExpertFfn {
  private final PackedExpert packed;

  SwigluExpert(ExpertWeights weights, ExpertKernel kernel) {
    Objects.requireNonNull(weights, "weights");
    Objects.requireNonNull(kernel, "kernel");
    int h = weights.hidden();
    int n = weights.intermediate();
    this.packed =
        kernel.pack(
            WeightMatrix.ofFloats(n, h, WeightMatrix.Layout.IN_OUT, weights.gate()),
            WeightMatrix.ofFloats(n, h, WeightMatrix.Layout.IN_OUT, weights.up()),
            WeightMatrix.ofFloats(h, n, WeightMatrix.Layout.IN_OUT, weights.down()));
  }

  @Override
  public int hidden() {
    return packed.hidden();
  }

  @Override
  public ExpertKind kind() {
    return ExpertKind.SWIGLU;
  }

  @Override
  public long weightBytes() {
    return packed.weightBytes();
  }

  /** The weights, read back from the packed copy into a new instance (bit for bit). */
  @Override
  public ExpertWeights weights() {
    return ExpertWeights.of(packed);
  }

  @Override
  public int scratchLength(int rows) {
    return packed.scratchLength(rows);
  }

  @Override
  public void forward(float[] x, int xOffset, int rows, float[] y, int yOffset, float[] scratch) {
    packed.forward(x, xOffset, rows, y, yOffset, scratch);
  }

  @Override
  public String toString() {
    return "ExpertFfn{swiglu, hidden="
        + packed.hidden()
        + ", intermediate="
        + packed.intermediate()
        + ", "
        + packed.kernel()
        + "}";
  }
}
