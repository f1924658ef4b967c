package io.moeflux.pipeline.model;

import java.util.Arrays;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One expert's function over rows of {@code hidden} floats: SwiGLU {@code down(silu(x . gate) * (x
 * . up))} or the identity.
 *
 * <p>Bitwise deterministic per row: every output element is summed in one fixed order (ascending
 * input index), whatever the number of rows in the call and whichever other rows share it. The
 * distributed pipeline batches rows differently from the reference, and both must agree to the bit.
 * Java forbids reassociating or fusing float arithmetic, so the vectorised loops keep that order.
 *
 * <p>Immutable and thread-safe; {@link #forward} allocates nothing and writes only {@code y} and
 * the caller's {@code scratch}.
 */
public final class ExpertFfn {
  /**
   * Rows that share one pass over the weights. A pass streams every weight once, so a block of rows
   * reuses each weight row from L1 instead of reloading it per token.
   */
  private static final int ROW_BLOCK = 4;

  private final int hidden;
  private final int intermediate;
  private final @Nullable ExpertWeights weights;
  private final float @Nullable [] gate;
  private final float @Nullable [] up;
  private final float @Nullable [] down;

  private ExpertFfn(int hidden, @Nullable ExpertWeights weights) {
    this.hidden = hidden;
    this.weights = weights;
    this.intermediate = weights == null ? 0 : weights.intermediate();
    this.gate = weights == null ? null : weights.gate();
    this.up = weights == null ? null : weights.up();
    this.down = weights == null ? null : weights.down();
  }

  /** {@code expert(x) = x}. */
  public static ExpertFfn identity(int hidden) {
    if (hidden < 1) {
      throw new IllegalArgumentException("hidden must be >= 1, got " + hidden);
    }
    return new ExpertFfn(hidden, null);
  }

  /** The SwiGLU expert with these weights. */
  public static ExpertFfn swiglu(ExpertWeights w) {
    Objects.requireNonNull(w, "w");
    return new ExpertFfn(w.hidden(), w);
  }

  public int hidden() {
    return hidden;
  }

  public ExpertKind kind() {
    return weights == null ? ExpertKind.IDENTITY : ExpertKind.SWIGLU;
  }

  /** The weights behind a SwiGLU expert; {@code null} for the identity. */
  public @Nullable ExpertWeights weights() {
    return weights;
  }

  /**
   * Floats of scratch that {@link #forward} needs for {@code rows} rows. Non-decreasing in rows, so
   * a buffer sized for the largest batch serves every smaller one.
   */
  public int scratchLength(int rows) {
    if (rows < 0) {
      throw new IllegalArgumentException("rows must be >= 0, got " + rows);
    }
    return 2 * intermediate * Math.min(rows, ROW_BLOCK);
  }

  /**
   * For {@code r < rows}: {@code y[yOffset + r*H ..+H] = expert(x[xOffset + r*H ..+H])},
   * overwriting y. {@code y} must not overlap the rows of {@code x} (except for the identity, which
   * copies).
   *
   * @param scratch at least {@link #scratchLength(int) scratchLength(rows)} floats, contents
   *     ignored and overwritten
   */
  public void forward(float[] x, int xOffset, int rows, float[] y, int yOffset, float[] scratch) {
    Objects.requireNonNull(x, "x");
    Objects.requireNonNull(y, "y");
    if (rows < 0) {
      throw new IllegalArgumentException("rows must be >= 0, got " + rows);
    }
    int length = Math.multiplyExact(rows, hidden);
    Objects.checkFromIndexSize(xOffset, length, x.length);
    Objects.checkFromIndexSize(yOffset, length, y.length);
    if (weights == null) {
      System.arraycopy(x, xOffset, y, yOffset, length);
      return;
    }
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
        scratch[g + j] = silu(scratch[g + j]) * scratch[u + j];
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

  /**
   * {@code z / (1 + exp(-z))}; Math.exp is one stub for interpreted and compiled code, so a JVM
   * gives the same bits wherever it runs the row.
   */
  static float silu(float z) {
    return z / (1f + (float) Math.exp(-z));
  }

  @Override
  public String toString() {
    return weights == null
        ? "ExpertFfn{identity, hidden=" + hidden + "}"
        : "ExpertFfn{swiglu, hidden=" + hidden + ", intermediate=" + intermediate + "}";
  }
}
