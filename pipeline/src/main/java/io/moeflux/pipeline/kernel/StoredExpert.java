package io.moeflux.pipeline.kernel;

import io.moeflux.pipeline.checkpoint.ExpertTensors;
import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.ExpertKind;
import io.moeflux.pipeline.model.ExpertWeights;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A checkpoint's SwiGLU expert: its matrices kept in their stored precision ({@code [out, in]},
 * bf16/f16 never widened in memory), computed by an {@link ExpertKernel}.
 */
public final class StoredExpert implements ExpertFfn {
  private final ExpertTensors tensors;
  private final ExpertKernel kernel;

  public StoredExpert(ExpertTensors tensors, ExpertKernel kernel) {
    this.tensors = Objects.requireNonNull(tensors, "tensors");
    this.kernel = Objects.requireNonNull(kernel, "kernel");
    int h = tensors.hidden();
    int n = tensors.intermediate();
    if (tensors.up().rows() != n
        || tensors.up().cols() != h
        || tensors.down().rows() != h
        || tensors.down().cols() != n) {
      throw new IllegalArgumentException(
          "expert matrices disagree: gate "
              + tensors.gate()
              + ", up "
              + tensors.up()
              + ", down "
              + tensors.down());
    }
  }

  /** The matrices, in their stored precision. */
  public ExpertTensors tensors() {
    return tensors;
  }

  @Override
  public int hidden() {
    return tensors.hidden();
  }

  @Override
  public ExpertKind kind() {
    return ExpertKind.SWIGLU;
  }

  @Override
  public long weightBytes() {
    return tensors.bytes();
  }

  @Override
  public @Nullable ExpertWeights weights() {
    return null;
  }

  @Override
  public int scratchLength(int rows) {
    if (rows < 0) {
      throw new IllegalArgumentException("rows must be >= 0, got " + rows);
    }
    return kernel.scratchLength(tensors.intermediate(), rows);
  }

  @Override
  public void forward(float[] x, int xOffset, int rows, float[] y, int yOffset, float[] scratch) {
    if (rows < 0) {
      throw new IllegalArgumentException("rows must be >= 0, got " + rows);
    }
    kernel.swiglu(tensors, x, xOffset, rows, y, yOffset, scratch);
  }

  @Override
  public String toString() {
    return "StoredExpert{"
        + tensors.gate().dtype()
        + ", hidden="
        + hidden()
        + ", intermediate="
        + tensors.intermediate()
        + ", "
        + kernel.name()
        + "}";
  }
}
