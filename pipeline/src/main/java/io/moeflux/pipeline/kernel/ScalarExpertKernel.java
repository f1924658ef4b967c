package io.moeflux.pipeline.kernel;

import io.moeflux.pipeline.checkpoint.ExpertTensors;
import io.moeflux.pipeline.checkpoint.NarrowFloats;
import io.moeflux.pipeline.checkpoint.StoredTensor;
import io.moeflux.pipeline.checkpoint.TensorDtype;
import io.moeflux.pipeline.model.ExpertFfn;
import java.util.Objects;

/**
 * The reference kernel: one row at a time, each output element a dot product over ascending input
 * index, weights widened to float32 one at a time (bf16 by a 16-bit shift), products and sums in
 * float32. Slow and simple; its order is the contract a vectorised kernel either keeps or names
 * differently.
 */
public final class ScalarExpertKernel implements ExpertKernel {
  /** The shared instance: the kernel holds no state. */
  public static final ScalarExpertKernel INSTANCE = new ScalarExpertKernel();

  private ScalarExpertKernel() {}

  @Override
  public String name() {
    return "scalar-f32acc-v1";
  }

  @Override
  public int scratchLength(int intermediate, int rows) {
    return intermediate;
  }

  @Override
  public void swiglu(
      ExpertTensors weights,
      float[] x,
      int xOffset,
      int rows,
      float[] y,
      int yOffset,
      float[] scratch) {
    Objects.requireNonNull(weights, "weights");
    int h = weights.hidden();
    int n = weights.intermediate();
    Objects.checkFromIndexSize(xOffset, Math.multiplyExact(rows, h), x.length);
    Objects.checkFromIndexSize(yOffset, Math.multiplyExact(rows, h), y.length);
    if (scratch.length < n) {
      throw new IllegalArgumentException("scratch has " + scratch.length + " floats, needs " + n);
    }
    for (int r = 0; r < rows; r++) {
      int in = xOffset + r * h;
      for (int j = 0; j < n; j++) {
        float g = dot(weights.gate(), j, x, in, h);
        float u = dot(weights.up(), j, x, in, h);
        scratch[j] = ExpertFfn.silu(g) * u;
      }
      int out = yOffset + r * h;
      for (int k = 0; k < h; k++) {
        y[out + k] = dot(weights.down(), k, scratch, 0, n);
      }
    }
  }

  /** Row {@code row} of {@code w} dotted with {@code x[from .. from+n)}, ascending index. */
  static float dot(StoredTensor w, int row, float[] x, int from, int n) {
    int base = row * n;
    float sum = 0f;
    short[] halves = w.halves();
    if (halves == null) {
      float[] floats = Objects.requireNonNull(w.floats());
      for (int i = 0; i < n; i++) {
        sum += floats[base + i] * x[from + i];
      }
    } else if (w.dtype() == TensorDtype.BF16) {
      for (int i = 0; i < n; i++) {
        sum += Float.intBitsToFloat(halves[base + i] << 16) * x[from + i];
      }
    } else {
      for (int i = 0; i < n; i++) {
        sum += NarrowFloats.f16ToFloat(halves[base + i]) * x[from + i];
      }
    }
    return sum;
  }

  @Override
  public String toString() {
    return name();
  }
}
