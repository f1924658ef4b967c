package io.moeflux.pipeline.family;

import io.moeflux.pipeline.checkpoint.ExpertTensors;
import io.moeflux.pipeline.checkpoint.StoredTensor;
import io.moeflux.pipeline.checkpoint.TensorDtype;
import io.moeflux.pipeline.kernel.ExpertKernel;
import io.moeflux.pipeline.kernel.PackedExpert;
import io.moeflux.pipeline.kernel.WeightFormat;
import io.moeflux.pipeline.kernel.WeightMatrix;
import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.ExpertKind;
import io.moeflux.pipeline.model.ExpertWeights;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A checkpoint's SwiGLU expert: its {@code [out, in]} matrices packed once by an {@link
 * ExpertKernel}, in their stored precision (bf16 and f16 stay 16 bits), and computed by it. The
 * tensors read from the checkpoint are not kept.
 */
public final class StoredExpert implements ExpertFfn {
  private final PackedExpert packed;

  public StoredExpert(ExpertTensors tensors, ExpertKernel kernel) {
    Objects.requireNonNull(tensors, "tensors");
    Objects.requireNonNull(kernel, "kernel");
    this.packed = kernel.pack(matrix(tensors.gate()), matrix(tensors.up()), matrix(tensors.down()));
  }

  private static WeightMatrix matrix(StoredTensor t) {
    WeightMatrix.Layout layout = WeightMatrix.Layout.OUT_IN;
    short[] halves = t.halves();
    if (halves == null) {
      return WeightMatrix.ofFloats(t.rows(), t.cols(), layout, Objects.requireNonNull(t.floats()));
    }
    WeightFormat format = t.dtype() == TensorDtype.BF16 ? WeightFormat.BF16 : WeightFormat.F16;
    return WeightMatrix.ofHalves(format, t.rows(), t.cols(), layout, halves);
  }

  /** The packed weights, in their stored precision. */
  public PackedExpert packed() {
    return packed;
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

  @Override
  public @Nullable ExpertWeights weights() {
    return null;
  }

  @Override
  public int scratchLength(int rows) {
    return packed.scratchLength(rows);
  }

  @Override
  public void forward(float[] x, int xOffset, int rows, float[] y, int yOffset, float[] scratch) {
    packed.forward(x, xOffset, rows, y, yOffset, scratch);
  }

  /** Same kernel, shapes, formats and weights (each compared widened, so bit for bit). */
  public boolean sameWeights(StoredExpert other) {
    PackedExpert a = packed;
    PackedExpert b = other.packed;
    if (!a.kernel().equals(b.kernel())
        || a.hidden() != b.hidden()
        || a.intermediate() != b.intermediate()) {
      return false;
    }
    for (PackedExpert.Matrix m : PackedExpert.Matrix.values()) {
      if (a.format(m) != b.format(m)) {
        return false;
      }
      int outputs = m == PackedExpert.Matrix.DOWN ? a.hidden() : a.intermediate();
      int inputs = m == PackedExpert.Matrix.DOWN ? a.intermediate() : a.hidden();
      for (int o = 0; o < outputs; o++) {
        for (int i = 0; i < inputs; i++) {
          if (Float.floatToRawIntBits(a.weight(m, o, i))
              != Float.floatToRawIntBits(b.weight(m, o, i))) {
            return false;
          }
        }
      }
    }
    return true;
  }

  @Override
  public String toString() {
    return "StoredExpert{"
        + packed.format(PackedExpert.Matrix.GATE)
        + ", hidden="
        + hidden()
        + ", intermediate="
        + packed.intermediate()
        + ", "
        + packed.kernel()
        + "}";
  }
}
