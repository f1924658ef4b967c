package io.moeflux.pipeline.model;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/** {@code expert(x) = x}: no arithmetic, so a run measures the data path alone. */
class IdentityExpert implements ExpertFfn {
  private final int hidden;

  IdentityExpert(int hidden) {
    if (hidden < 1) {
      throw new IllegalArgumentException("hidden must be >= 1, got " + hidden);
    }
    this.hidden = hidden;
  }

  @Override
  public int hidden() {
    return hidden;
  }

  @Override
  public ExpertKind kind() {
    return ExpertKind.IDENTITY;
  }

  @Override
  public long weightBytes() {
    return 0;
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
    return 0;
  }

  @Override
  public void forward(float[] x, int xOffset, int rows, float[] y, int yOffset, float[] scratch) {
    Objects.requireNonNull(x, "x");
    Objects.requireNonNull(y, "y");
    if (rows < 0) {
      throw new IllegalArgumentException("rows must be >= 0, got " + rows);
    }
    int length = Math.multiplyExact(rows, hidden);
    Objects.checkFromIndexSize(xOffset, length, x.length);
    Objects.checkFromIndexSize(yOffset, length, y.length);
    System.arraycopy(x, xOffset, y, yOffset, length);
  }

  @Override
  public String toString() {
    return "ExpertFfn{identity, hidden=" + hidden + "}";
  }
}
