package io.moeflux.pipeline.model;

import io.moeflux.pipeline.kernel.PackedExpert;
import java.util.Objects;

/**
 * A SwiGLU expert computed by the kernel that packed it: the synthetic experts and a checkpoint's
 * differ only in where their weights come from and whether they can hand them back ({@link
 * #weights()}).
 */
public abstract class PackedSwigluFfn implements ExpertFfn {
  private final PackedExpert packed;

  protected PackedSwigluFfn(PackedExpert packed) {
    this.packed = Objects.requireNonNull(packed, "packed");
  }

  /** The packed weights, in their stored precision. */
  public final PackedExpert packed() {
    return packed;
  }

  @Override
  public final int hidden() {
    return packed.hidden();
  }

  @Override
  public final ExpertKind kind() {
    return ExpertKind.SWIGLU;
  }

  @Override
  public final long weightBytes() {
    return packed.weightBytes();
  }

  @Override
  public final int scratchLength(int rows) {
    return packed.scratchLength(rows);
  }

  @Override
  public final void forward(
      float[] x, int xOffset, int rows, float[] y, int yOffset, float[] scratch) {
    packed.forward(x, xOffset, rows, y, yOffset, scratch);
  }

  @Override
  public String toString() {
    return getClass().getSimpleName()
        + "{"
        + packed.format(PackedExpert.Matrix.GATE)
        + ", hidden="
        + packed.hidden()
        + ", intermediate="
        + packed.intermediate()
        + ", "
        + packed.kernel()
        + "}";
  }
}
