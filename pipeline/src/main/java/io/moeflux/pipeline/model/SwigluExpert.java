package io.moeflux.pipeline.model;

import java.util.Arrays;
import java.util.Objects;

/**
 * The synthetic SwiGLU expert: float32 weights generated from the seed, {@code gate} and {@code up}
 * stored {@code hidden x intermediate} and {@code down} {@code intermediate x hidden}, so that the
 * innermost loops run over contiguous output indices (which C2 vectorises). Every output element is
 * summed over ascending input index, whatever the number of rows: Java forbids reassociating or
 * fusing float arithmetic, so the vectorised loops keep that order.
 */
final class SwigluExpert implements ExpertFfn {
  /**
   * Rows that share one pass over the weights. A pass streams every weight once, so a block of rows
   * reuses each weight row from L1 instead of reloading it per token.
   */
  private static final int ROW_BLOCK = 4;

  private final int hidden;
  private final int intermediate;
  private final ExpertWeights weights;
  private final float[] gate;
  private final float[] up;
  private final float[] down;

  SwigluExpert(ExpertWeights weights) {
    this.weights = Objects.requireNonNull(weights, "w");
    this.hidden = weights.hidden();
    this.intermediate = weights.intermediate();
    this.gate = weights.gate();
    this.up = weights.up();
    this.down = weights.down();
  }

  @Override
  public int hidden() {
    return hidden;
  }

  @Override
  public ExpertKind kind() {
    return ExpertKind.SWIGLU;
  }

  @Override
  public long weightBytes() {
    return (long) weights.floatCount() * Float.BYTES;
  }

  @Override
  public ExpertWeights weights() {
    return weights;
  }

  @Override
  public int scratchLength(int rows) {
    if (rows < 0) {
      throw new IllegalArgumentException("rows must be >= 0, got " + rows);
    }
    return 2 * intermediate * Math.min(rows, ROW_BLOCK);
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
    Objects.requireNonNull(scratch, "scratch");
    int needed = scratchLength(rows);
    if (scratch.length < needed) {
      throw new IllegalArgumentException(
          "scratch has " + scratch.length + " floats, needs " + needed + " for " + rows + " rows");
    }
    for (int first = 0; first < rows; first += ROW_BLOCK) {
      int block = Math.min(ROW_BLOCK, rows - first);
      project(x, xOffset + first * hidden, block, scratch);
      activate(block, scratch);
      projectDown(block, scratch, y, yOffset + first * hidden);
    }
  }

  /**
   * gate and up projections of {@code block} rows: scratch holds, per row b, the gate sums at
   * {@code 2*b*I} and the up sums at {@code (2*b+1)*I}, each summed over ascending input index i.
   */
  private void project(float[] x, int xOffset, int block, float[] scratch) {
    int h = hidden;
    int n = intermediate;
    Arrays.fill(scratch, 0, 2 * n * block, 0f);
    for (int i = 0; i < h; i++) {
      int w = i * n;
      for (int b = 0; b < block; b++) {
        float xi = x[xOffset + b * h + i];
        int g = 2 * b * n;
        int u = g + n;
        // One store stream per loop: C2 vectorises that more readily than two streams into the
        // same array, whose independence it cannot always prove.
        for (int j = 0; j < n; j++) {
          scratch[g + j] += xi * gate[w + j];
        }
        for (int j = 0; j < n; j++) {
          scratch[u + j] += xi * up[w + j];
        }
      }
    }
  }

  /** In place: gate sums become {@code silu(gate) * up}. */
  private void activate(int block, float[] scratch) {
    int n = intermediate;
    for (int b = 0; b < block; b++) {
      int g = 2 * b * n;
      int u = g + n;
      for (int j = 0; j < n; j++) {
        scratch[g + j] = ExpertFfn.silu(scratch[g + j]) * scratch[u + j];
      }
    }
  }

  /** y rows = activations . down, each output summed over ascending intermediate index j. */
  private void projectDown(int block, float[] scratch, float[] y, int yOffset) {
    int h = hidden;
    int n = intermediate;
    Arrays.fill(y, yOffset, yOffset + block * h, 0f);
    for (int j = 0; j < n; j++) {
      int w = j * h;
      for (int b = 0; b < block; b++) {
        float a = scratch[2 * b * n + j];
        int out = yOffset + b * h;
        for (int k = 0; k < h; k++) {
          y[out + k] += a * down[w + k];
        }
      }
    }
  }

  @Override
  public String toString() {
    return "ExpertFfn{swiglu, hidden=" + hidden + ", intermediate=" + intermediate + "}";
  }
}
